namespace Muxado.Reactive.Protocol;

/// <summary>A session-fatal condition found by <see cref="ProtocolCore"/>; its GOAWAY has been written already.</summary>
internal sealed record SessionFault(ErrorCode Code, string Message);
