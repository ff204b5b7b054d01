namespace Muxado.Reactive;

/// <summary>
/// A snapshot of a session's counters (<see cref="MuxSession.Statistics"/>, <see cref="MuxSession.StatisticsEvery"/>),
/// all taken at one instant under the session's lock.
/// </summary>
/// <param name="OpenStreams">Streams open now, opened by either side (ended, reset and closed streams are not counted).</param>
/// <param name="StreamsOpened">Streams this side opened since the session started.</param>
/// <param name="StreamsAccepted">Streams the peer opened that the session admitted (refused ones are not counted), whether
/// or not the application has taken them yet.</param>
/// <param name="BufferedReceiveBytes">Bytes received on open streams and not yet consumed by the application.</param>
/// <param name="QueuedWriteBytes">Bytes queued for the transport and not yet written.</param>
/// <param name="BytesSent">Bytes of frames (8-byte header and body) queued for the transport since the start.</param>
/// <param name="BytesReceived">Bytes of frames (header and body) read from the transport since the start.</param>
/// <param name="FramesSent">Frames queued for the transport since the start.</param>
/// <param name="FramesReceived">Frames read from the transport since the start.</param>
public sealed record SessionStatistics(
    int OpenStreams,
    long StreamsOpened,
    long StreamsAccepted,
    long BufferedReceiveBytes,
    long QueuedWriteBytes,
    long BytesSent,
    long BytesReceived,
    long FramesSent,
    long FramesReceived);
