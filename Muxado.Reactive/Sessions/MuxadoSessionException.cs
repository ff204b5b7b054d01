namespace Muxado.Reactive;

/// <summary>The session ended; thrown to pending and later calls, and given to open streams' readers.</summary>
public sealed class MuxadoSessionException : MuxadoException
{
    /// <summary>Creates the exception from how the session ended.</summary>
    public MuxadoSessionException(SessionEnd end, Exception? innerException = null)
        : base(CodeOf(end), "muxado session ended: " + end, innerException)
        => End = end;

    /// <summary>How the session ended, including the peer's GOAWAY code and debug text.</summary>
    public SessionEnd End { get; }

    // After a clean close the streams still open were cut off by it: they report SessionClosed, not NoError.
    private static ErrorCode CodeOf(SessionEnd end)
    {
        ArgumentNullException.ThrowIfNull(end);
        return end.IsClean ? ErrorCode.SessionClosed : end.LocalError;
    }
}

/// <summary>A stream was reset (by the peer, by this side, or cut off by the peer's GOAWAY).</summary>
public sealed class MuxadoStreamException : MuxadoException
{
    /// <summary>Creates the exception.</summary>
    public MuxadoStreamException(uint streamId, ErrorCode code, bool byPeer)
        : base(code, $"muxado stream {streamId} reset {(byPeer ? "by the peer" : "locally")}: {code}")
    {
        StreamId = streamId;
        ByPeer = byPeer;
    }

    /// <summary>The stream's id.</summary>
    public uint StreamId { get; }

    /// <summary>True when the peer reset it (RST or GOAWAY); false when this side did.</summary>
    public bool ByPeer { get; }
}
