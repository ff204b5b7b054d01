namespace Muxado.Reactive;

/// <summary>How a <see cref="MuxSession"/> ended.</summary>
/// <param name="LocalError">The code this side ended with: what it sent in its GOAWAY, or what it saw
/// (<see cref="ErrorCode.PeerEOF"/> when the transport ended, <see cref="ErrorCode.NoError"/> for a clean close).</param>
/// <param name="Message">A human-readable account (the GOAWAY debug text this side sent, or the failure).</param>
/// <param name="RemoteError">The code of the peer's GOAWAY, if one arrived.</param>
/// <param name="RemoteDebug">The debug text of the peer's GOAWAY, if one arrived.</param>
/// <param name="Exception">The exception open streams and pending calls were ended with; null after a clean close.</param>
public sealed record SessionEnd(ErrorCode LocalError, string Message, ErrorCode? RemoteError, string? RemoteDebug, Exception? Exception)
{
    /// <summary>True when neither side reported an error (NoError, or the peer's clean EOF after its NoError GOAWAY).</summary>
    public bool IsClean => Exception is null;

    /// <inheritdoc />
    public override string ToString() =>
        $"local {LocalError} \"{Message}\"" + (RemoteError is { } r ? $", remote {r} \"{RemoteDebug}\"" : ", no GOAWAY from peer");
}
