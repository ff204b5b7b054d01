namespace Muxado.Reactive;

/// <summary>How a <see cref="MuxSession"/> ended.</summary>
/// <param name="LocalError">The code this side ended with: what it sent in its GOAWAY, or what it saw
/// (<see cref="ErrorCode.PeerEOF"/> when the transport ended, <see cref="ErrorCode.NoError"/> for a clean close).</param>
/// <param name="Message">A human-readable account (the GOAWAY debug text this side sent, or the failure).</param>
/// <param name="RemoteError">The code of the peer's GOAWAY, if one arrived.</param>
/// <param name="RemoteDebug">The debug text of the peer's GOAWAY, if one arrived.</param>
public sealed record SessionEnd(ErrorCode LocalError, string Message, ErrorCode? RemoteError, string? RemoteDebug)
{
    /// <summary>True when neither side reported an error: a local close, or the peer's EOF after its NoError GOAWAY.</summary>
    public bool IsClean => LocalError == ErrorCode.NoError || (LocalError == ErrorCode.PeerEOF && RemoteError == ErrorCode.NoError);

    /// <inheritdoc />
    public override string ToString() =>
        $"local {LocalError} \"{Message}\"" + (RemoteError is { } r ? $", remote {r} \"{RemoteDebug}\"" : ", no GOAWAY from peer");
}
