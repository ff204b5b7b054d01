using Microsoft.Extensions.Logging;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Diagnostics;

/// <summary>
/// One session's logs, metrics and statistics: the session reports what happens under its lock, and this turns it
/// into totals (for <see cref="MuxSession.Statistics"/>), log events and measurements.
/// </summary>
/// <remarks>
/// <para>A logger and a meter listener are user code, so neither is ever called under the session lock: a log event
/// found under it is deferred (<see cref="DeferringLock.Defer"/>) and written once the lock is released, and the
/// per-frame measurements are tallied under the lock and added to the instruments by one deferred flush per locked
/// section (this object is that flush). Nothing is tallied for instruments nobody listens to, and the hot path allocates
/// nothing: tags are built once (<see cref="MuxInstruments"/>).</para>
/// <para>The totals are guarded by the session lock; <see cref="OpenStreams"/> and <see cref="QueuedWriteBytes"/> may be
/// read on any thread (the observed instruments read them when a listener asks).</para>
/// </remarks>
internal sealed class SessionTelemetry : IDeferredWork
{
    private readonly DeferringLock _lock;
    private readonly FrameOutput _output;

    // Measurements tallied under the lock and not yet added to the instruments (only while they are listened to: the
    // per-type tallies exist only once a frame was counted, so a session nobody measures carries none).
    private long[]? _pendingFramesSent;
    private long[]? _pendingFramesReceived;
    private long _pendingBytesSent;
    private long _pendingBytesReceived;
    private long _pendingOpened;
    private long _pendingAccepted;
    private int _openStreams;
    private bool _flushQueued;

    public SessionTelemetry(MuxSessionOptions options, DeferringLock sessionLock, FrameOutput output)
    {
        _lock = sessionLock;
        _output = output;
        Logger = options.LoggerFactory?.CreateLogger(SessionLog.Category);
        Instruments = MuxInstruments.For(options.MeterFactory);
    }

    /// <summary>Null when the options have no logger factory: then no log event is even prepared.</summary>
    public ILogger? Logger { get; }

    public MuxInstruments Instruments { get; }

    public long FramesSent { get; private set; }
    public long FramesReceived { get; private set; }
    public long BytesSent { get; private set; }
    public long BytesReceived { get; private set; }
    public long StreamsOpened { get; private set; }
    public long StreamsAccepted { get; private set; }

    /// <summary>Streams open now; safe on any thread (the active-streams instrument reads it).</summary>
    public int OpenStreams => Volatile.Read(ref _openStreams);

    /// <summary>Bytes queued for the transport and not yet written; safe on any thread (the write-queue gauge reads it).</summary>
    public long QueuedWriteBytes => _output.PendingBytes;

    /// <summary>The session has started (outside the lock, from its constructor).</summary>
    public void Started(SessionRole role)
    {
        if (Logger is { } logger)
        {
            SessionLog.SessionStarted(logger, role);
        }
        Instruments.Register(this);
    }

    /// <summary>The session has ended (under the lock, once): logged and counted after the lock is released.</summary>
    public void EndedLocked(SessionEnd end, int streamsCut)
    {
        StreamsEndedLocked(streamsCut);
        if (Logger is { } logger)
        {
            Later(() => SessionLog.SessionEnded(logger, end.IsClean ? LogLevel.Information : LogLevel.Warning,
                end.LocalError, end.Message, end.RemoteError, end.RemoteDebug, end.IsClean));
        }
        // Apart from the log, and unregistered first: a logger or listener that throws must not leave the session
        // in the observed instruments.
        Later(() =>
        {
            Instruments.Unregister(this);
            Instruments.SessionsEnded.Add(1, MuxInstruments.ErrorCodeTag(end.LocalError));
        });
    }

    /// <summary>A frame was queued for the transport. Under the lock.</summary>
    public void FrameSentLocked(in Frame frame)
    {
        FramesSent++;
        BytesSent += frame.WireLength;
        if (frame.Type == FrameType.Rst)
        {
            StreamResetLocked(frame.StreamId, frame.ErrorCode, byPeer: false);
        }
        else if (frame.Type == FrameType.GoAway && Logger is { } logger)
        {
            var (code, last, debug) = (frame.ErrorCode, frame.LastStreamId, frame.DebugText);
            Later(() => SessionLog.GoAwaySent(logger, code, last, debug));
        }
        if (Instruments.TrafficEnabled)
        {
            (_pendingFramesSent ??= new long[MuxInstruments.FrameTypeCount])[MuxInstruments.TypeIndex(frame.Type)]++;
            _pendingBytesSent += frame.WireLength;
            QueueFlushLocked();
        }
    }

    /// <summary>A frame was read from the transport. Under the lock.</summary>
    public void FrameReceivedLocked(in Frame frame)
    {
        FramesReceived++;
        BytesReceived += frame.WireLength;
        if (frame.Type == FrameType.Rst)
        {
            StreamResetLocked(frame.StreamId, frame.ErrorCode, byPeer: true);
        }
        else if (frame.Type == FrameType.GoAway && Logger is { } logger)
        {
            var (code, last, debug) = (frame.ErrorCode, frame.LastStreamId, frame.DebugText);
            Later(() => SessionLog.GoAwayReceived(logger, code, last, debug));
        }
        if (Instruments.TrafficEnabled)
        {
            (_pendingFramesReceived ??= new long[MuxInstruments.FrameTypeCount])[MuxInstruments.TypeIndex(frame.Type)]++;
            _pendingBytesReceived += frame.WireLength;
            QueueFlushLocked();
        }
    }

    /// <summary>A stream was opened by this side (<paramref name="local"/>) or admitted from the peer. Under the lock.</summary>
    public void StreamStartedLocked(bool local)
    {
        if (local)
        {
            StreamsOpened++;
        }
        else
        {
            StreamsAccepted++;
        }
        Volatile.Write(ref _openStreams, _openStreams + 1);
        if (Instruments.TrafficEnabled)
        {
            _ = local ? _pendingOpened++ : _pendingAccepted++;
            QueueFlushLocked();
        }
    }

    /// <summary><paramref name="count"/> streams are over (the session forgot them). Under the lock.</summary>
    public void StreamsEndedLocked(int count)
    {
        Volatile.Write(ref _openStreams, _openStreams - count);
    }

    /// <summary>The peer ran into <paramref name="limit"/> with stream <paramref name="streamId"/>. Under the lock.</summary>
    public void LimitHitLocked(SessionLimit limit, uint streamId)
    {
        if (Logger is { } logger)
        {
            Later(() => SessionLog.LimitHit(logger, limit, streamId));
        }
    }

    /// <summary>
    /// A frame from the peer ended the session (its GOAWAY is written). Under the lock. A spent reply budget is the limit
    /// it is, not a violation of the protocol.
    /// </summary>
    public void ViolationLocked(SessionFault fault, in Frame? frame)
    {
        if (Logger is not { } logger)
        {
            return;
        }
        if (fault.Code == ErrorCode.EnhanceYourCalm && frame is { } charged)
        {
            LimitHitLocked(SessionLimit.ReplyBudget, charged.StreamId);
            return;
        }
        string summary = frame is { } f
            ? FormattableString.Invariant($"{f.Type} stream {f.StreamId} flags {f.Flags} length {f.Length}")
            : "malformed (the reader refused it)";
        Later(() => SessionLog.ProtocolViolation(logger, fault.Code, fault.Message, summary));
    }

    /// <summary>The write watchdog ends the session. Under the lock.</summary>
    public void WriteTimeoutLocked(TimeSpan timeout, long pendingBytes)
    {
        if (Logger is { } logger)
        {
            Later(() => SessionLog.WriteTimeout(logger, timeout, pendingBytes));
        }
    }

    /// <summary>A write waited <paramref name="waited"/> for window credit. Under the lock.</summary>
    public void CreditWaitedLocked(TimeSpan waited)
    {
        if (Instruments.CreditWait.Enabled)
        {
            Later(() => Instruments.CreditWait.Record(waited.TotalSeconds));
        }
    }

    /// <summary>
    /// The hook for the heartbeat: a beat came back after <paramref name="roundTrip"/>. Outside the lock (the heartbeat
    /// measures on the session's scheduler).
    /// </summary>
    public void HeartbeatRoundTrip(TimeSpan roundTrip)
    {
        try
        {
            Instruments.HeartbeatRoundTrip.Record(roundTrip.TotalSeconds);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A listener that throws would reset the heartbeat's stream from inside its echo handler; dropped instead.
        }
    }

    private void StreamResetLocked(uint streamId, ErrorCode code, bool byPeer)
    {
        var logger = Logger;
        if (logger is null && !Instruments.StreamsReset.Enabled)
        {
            return;
        }
        Later(() =>
        {
            if (logger is not null)
            {
                if (byPeer)
                {
                    SessionLog.StreamResetReceived(logger, streamId, code);
                }
                else
                {
                    SessionLog.StreamResetSent(logger, streamId, code);
                }
            }
            Instruments.StreamsReset.Add(1, MuxInstruments.ErrorCodeTag(code), MuxInstruments.SideTag(byPeer));
        });
    }

    private void QueueFlushLocked()
    {
        if (!_flushQueued)
        {
            _flushQueued = true;
            _lock.Defer(this);
        }
    }

    /// <summary>The flush: takes the tallies under the lock, adds them to the instruments outside it.</summary>
    void IDeferredWork.Run()
    {
        Span<long> sent = stackalloc long[MuxInstruments.FrameTypeCount];
        Span<long> received = stackalloc long[MuxInstruments.FrameTypeCount];
        long bytesSent, bytesReceived, opened, accepted;
        using (_lock.Enter())
        {
            _flushQueued = false;
            if (_pendingFramesSent is { } pendingSent)
            {
                pendingSent.CopyTo(sent);
                Array.Clear(pendingSent);
            }
            if (_pendingFramesReceived is { } pendingReceived)
            {
                pendingReceived.CopyTo(received);
                Array.Clear(pendingReceived);
            }
            (bytesSent, bytesReceived, opened, accepted) = (_pendingBytesSent, _pendingBytesReceived, _pendingOpened, _pendingAccepted);
            _pendingBytesSent = _pendingBytesReceived = _pendingOpened = _pendingAccepted = 0;
        }
        var i = Instruments;
        try
        {
            for (int type = 0; type < MuxInstruments.FrameTypeCount; type++)
            {
                if (sent[type] != 0)
                {
                    i.FramesSent.Add(sent[type], MuxInstruments.FrameTypeTag(type));
                }
                if (received[type] != 0)
                {
                    i.FramesReceived.Add(received[type], MuxInstruments.FrameTypeTag(type));
                }
            }
            AddIfAny(i.BytesSent, bytesSent);
            AddIfAny(i.BytesReceived, bytesReceived);
            AddIfAny(i.StreamsOpened, opened);
            AddIfAny(i.StreamsAccepted, accepted);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A meter listener that throws loses its measurements, not the session (see DeferredAction).
        }
    }

    private static void AddIfAny(System.Diagnostics.Metrics.Counter<long> counter, long delta)
    {
        if (delta != 0)
        {
            counter.Add(delta);
        }
    }

    /// <summary>Runs <paramref name="action"/> once the session lock (and every deferring lock) is released. Under the lock.</summary>
    private void Later(Action action) => _lock.Defer(new DeferredAction(action));

    /// <remarks>
    /// The action calls a logger or a meter listener: user code, run when a lock scope of the session's ends. What it
    /// throws would come out of that scope's end, at any point of the session's code (before its end is recorded, say,
    /// which would leave <see cref="MuxSession.Completion"/> pending for ever), so it is dropped: telemetry is a
    /// bystander, like a frame tap.
    /// </remarks>
    private sealed class DeferredAction(Action action) : IDeferredWork
    {
        public void Run()
        {
            try
            {
                action();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Dropped: see the remarks.
            }
        }
    }
}
