namespace Muxado.Reactive;

/// <summary>
/// The muxado error codes carried by RST and GOAWAY frames (see PROTOCOL.md, "Error codes").
/// </summary>
/// <remarks>
/// A code received from the peer that is not listed here is kept as its number
/// (cast it to <see cref="uint"/> to read it); it is never rejected.
/// </remarks>
public enum ErrorCode : uint
{
    /// <summary>No error: a clean close.</summary>
    NoError = 0,
    /// <summary>The peer broke the protocol.</summary>
    ProtocolError = 1,
    /// <summary>An internal failure, for example an application observer that threw.</summary>
    InternalError = 2,
    /// <summary>The peer sent more than the window allowed, or overflowed a window.</summary>
    FlowControlError = 3,
    /// <summary>Data arrived for a stream that is closed or unknown.</summary>
    StreamClosed = 4,
    /// <summary>The stream was refused (after GOAWAY, or over the concurrent-stream limit).</summary>
    StreamRefused = 5,
    /// <summary>The stream was cancelled by its application.</summary>
    StreamCancelled = 6,
    /// <summary>The stream was reset.</summary>
    StreamReset = 7,
    /// <summary>A frame had an illegal length.</summary>
    FrameSizeError = 8,
    /// <summary>The accept backlog was full.</summary>
    AcceptQueueFull = 9,
    /// <summary>The peer sent too many frames that force replies.</summary>
    EnhanceYourCalm = 10,
    /// <summary>The peer sent GOAWAY.</summary>
    RemoteGoneAway = 11,
    /// <summary>No stream ids are left.</summary>
    StreamsExhausted = 12,
    /// <summary>A write to the transport did not finish in time.</summary>
    WriteTimeout = 13,
    /// <summary>The session is closed.</summary>
    SessionClosed = 14,
    /// <summary>The transport reached end of stream.</summary>
    PeerEOF = 15,
    /// <summary>Unknown, or not a muxado error.</summary>
    Unknown = 0xFF,
}
