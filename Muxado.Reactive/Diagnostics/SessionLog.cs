using Microsoft.Extensions.Logging;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Diagnostics;

/// <summary>
/// The session's log events (source-generated). The event ids are stable: dashboards and alerts may key on them, so a
/// new event takes a new id and an id is never reused for another meaning.
/// </summary>
/// <remarks>
/// Nothing here is per DATA frame: a busy session logs only when its state changes (start, end, GOAWAY, resets, limits,
/// violations). The session calls these after its lock is released (a logger is user code).
/// </remarks>
internal static partial class SessionLog
{
    /// <summary>The logger category of every session.</summary>
    public const string Category = "Muxado.Reactive.MuxSession";

    [LoggerMessage(EventId = 1, EventName = "SessionStarted", Level = LogLevel.Debug,
        Message = "Session started as {Role}")]
    public static partial void SessionStarted(ILogger logger, SessionRole role);

    /// <remarks>Information when the end is clean (<see cref="SessionEnd.IsClean"/>), Warning otherwise.</remarks>
    [LoggerMessage(EventId = 2, EventName = "SessionEnded",
        Message = "Session ended with {LocalCode} ({Message}); peer's GOAWAY {RemoteCode} \"{RemoteDebug}\"; clean: {Clean}")]
    public static partial void SessionEnded(ILogger logger, LogLevel level, ErrorCode localCode, string message,
        ErrorCode? remoteCode, string? remoteDebug, bool clean);

    [LoggerMessage(EventId = 3, EventName = "GoAwaySent", Level = LogLevel.Debug,
        Message = "GOAWAY sent: {Code}, last stream id {LastStreamId}, \"{Debug}\"")]
    public static partial void GoAwaySent(ILogger logger, ErrorCode code, uint lastStreamId, string debug);

    [LoggerMessage(EventId = 4, EventName = "GoAwayReceived", Level = LogLevel.Information,
        Message = "GOAWAY received: {Code}, last stream id {LastStreamId}, \"{Debug}\"")]
    public static partial void GoAwayReceived(ILogger logger, ErrorCode code, uint lastStreamId, string debug);

    [LoggerMessage(EventId = 5, EventName = "StreamResetSent", Level = LogLevel.Debug,
        Message = "Stream {StreamId} reset by us with {Code}")]
    public static partial void StreamResetSent(ILogger logger, uint streamId, ErrorCode code);

    [LoggerMessage(EventId = 6, EventName = "StreamResetReceived", Level = LogLevel.Debug,
        Message = "Stream {StreamId} reset by the peer with {Code}")]
    public static partial void StreamResetReceived(ILogger logger, uint streamId, ErrorCode code);

    [LoggerMessage(EventId = 7, EventName = "LimitHit", Level = LogLevel.Warning,
        Message = "Limit {Limit} hit by stream {StreamId}")]
    public static partial void LimitHit(ILogger logger, SessionLimit limit, uint streamId);

    [LoggerMessage(EventId = 8, EventName = "ProtocolViolation", Level = LogLevel.Warning,
        Message = "Protocol violation, the session ends with {Code}: {Reason} (frame: {Frame})")]
    public static partial void ProtocolViolation(ILogger logger, ErrorCode code, string reason, string frame);

    [LoggerMessage(EventId = 9, EventName = "WriteTimeout", Level = LogLevel.Warning,
        Message = "Write timeout: the transport accepted nothing for {Timeout} while {PendingBytes} bytes waited")]
    public static partial void WriteTimeout(ILogger logger, TimeSpan timeout, long pendingBytes);
}
