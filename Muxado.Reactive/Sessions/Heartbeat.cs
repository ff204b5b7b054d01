using System.Buffers.Binary;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Security.Cryptography;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>What a heartbeat requester saw: a beat with its latency, or a timeout.</summary>
/// <param name="IsTimeout">True when no beat succeeded within interval + tolerance (for <see cref="Heartbeat.BeatAsync"/>:
/// no echo within the tolerance).</param>
/// <param name="Latency">Time from writing the beat to reading its echo (zero for a timeout).</param>
/// <param name="At">When, on the session's scheduler.</param>
public readonly record struct HeartbeatEvent(bool IsTimeout, TimeSpan Latency, DateTimeOffset At);

/// <summary>
/// The heartbeat requester of PROTOCOL.md: on its own typed stream (0xFFFFFFFF) it writes a random 4-byte
/// value every <c>interval</c> and times the echo. Every timer runs on the session's scheduler, so a test
/// scheduler drives it exactly.
/// </summary>
/// <remarks>
/// <para><see cref="Events"/> yields a beat per echo and a timeout each interval + tolerance without one. It fails
/// when an echo does not match (<see cref="ErrorCode.ProtocolError"/>) or the stream fails, and completes when
/// the requester is disposed or the session ends cleanly.</para>
/// <para>One beat is out at a time, as in Go: a beat that falls due while another waits for its echo goes out as soon as
/// the echo arrives (<see cref="BeatAsync"/>'s beats included). <see cref="Interval"/> and <see cref="Tolerance"/> may be
/// changed while it runs.</para>
/// </remarks>
public sealed class Heartbeat : IAsyncDisposable
{
    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    private readonly MuxSession _session;
    // Events go to each watcher through its own serial drain: nobody's handler runs under _gate or on the stream's
    // delivery, so disposing the heartbeat never waits for a handler (a handler that takes a lock the disposer holds
    // used to deadlock against the synchronized subject this replaced).
    private readonly DeferringLock _gate = new();
    private readonly Broadcast<HeartbeatEvent> _events;
    private readonly CompositeDisposable _disposables = [];
    private readonly SerialDisposable _beatTimer = new();
    private readonly SerialDisposable _timeoutTimer = new();
    private readonly byte[] _echo = new byte[4];
    // Callers of BeatAsync: those whose beat is out, and those waiting for the beat out now to come back first.
    private readonly List<TaskCompletionSource<HeartbeatEvent>> _onDemandOut = [];
    private readonly List<TaskCompletionSource<HeartbeatEvent>> _onDemandNext = [];
    private MuxStream? _stream;
    private TimeSpan _interval;
    private TimeSpan _tolerance;
    private uint _expected;
    private int _echoed;
    private bool _awaitingEcho;
    private bool _outIsOnDemand;
    private bool _tickMissed;
    private DateTimeOffset _sentAt;
    private bool _stopped;
    private Exception? _stopError;

    private Heartbeat(MuxSession session, TimeSpan interval, TimeSpan tolerance)
    {
        _session = session;
        _interval = interval;
        _tolerance = tolerance;
        _events = new Broadcast<HeartbeatEvent>(_gate, session.Scheduler);
    }

    /// <summary>The time between periodic beats (default 10 s); at most a day.</summary>
    /// <remarks>A change takes effect from the next beat: the beat already scheduled keeps its time, the ones after it
    /// are the new interval apart (Go's ticker is reset the same way). It also sets the timeout clock from the next beat
    /// or timeout on.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">Not positive, or over a day.</exception>
    public TimeSpan Interval
    {
        get
        {
            using (_gate.Enter())
            {
                return _interval;
            }
        }
        set
        {
            CheckInterval(value, nameof(value));
            using (_gate.Enter())
            {
                _interval = value;
            }
        }
    }

    /// <summary>How much longer than <see cref="Interval"/> an echo may take before a timeout is reported (default 15 s); at most a day.</summary>
    /// <remarks>A change takes effect from the next beat: the timeout clock running now keeps its time. It is also how long
    /// a <see cref="BeatAsync"/> called after the change waits.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">Negative, or over a day.</exception>
    public TimeSpan Tolerance
    {
        get
        {
            using (_gate.Enter())
            {
                return _tolerance;
            }
        }
        set
        {
            CheckTolerance(value, nameof(value));
            using (_gate.Enter())
            {
                _tolerance = value;
            }
        }
    }

    private static void CheckInterval(TimeSpan interval, string name)
    {
        if (interval <= TimeSpan.Zero || interval > MaxDuration)
        {
            throw new ArgumentOutOfRangeException(name, interval, "The interval must be positive and at most a day.");
        }
    }

    private static void CheckTolerance(TimeSpan tolerance, string name)
    {
        if (tolerance < TimeSpan.Zero || tolerance > MaxDuration)
        {
            throw new ArgumentOutOfRangeException(name, tolerance, "The tolerance must not be negative and at most a day.");
        }
    }

    /// <summary>Beats and timeouts; hot: subscribe before the first interval to see them all. Delivered on the session's scheduler.</summary>
    public IObservable<HeartbeatEvent> Events => _events;

    /// <summary>The latency of each successful beat.</summary>
    public IObservable<TimeSpan> Latencies => Events.Where(e => !e.IsTimeout).Select(e => e.Latency);

    /// <summary>
    /// Starts a requester on <paramref name="session"/>. Defaults: interval 10 s, tolerance 15 s (as Go).
    /// </summary>
    public static async Task<Heartbeat> StartAsync(MuxSession session, TimeSpan? interval = null, TimeSpan? tolerance = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        var every = interval ?? TimeSpan.FromSeconds(10);
        var slack = tolerance ?? TimeSpan.FromSeconds(15);
        CheckInterval(every, nameof(interval));
        CheckTolerance(slack, nameof(tolerance));
        var beat = new Heartbeat(session, every, slack);
        beat._stream = await session.OpenTypedAsync(MuxSession.HeartbeatStreamType, cancellationToken).ConfigureAwait(false);
        beat._disposables.Add(beat._stream.Received.Subscribe(beat.OnEcho, beat.Stop, () => beat.Stop(null)));
        beat._disposables.Add(beat._beatTimer);
        beat._disposables.Add(beat._timeoutTimer);
        beat.ScheduleTick();
        beat.ArmTimeout();
        return beat;
    }

    /// <summary>
    /// Sends a beat now and returns its round trip, as Go's <c>Beat()</c>: the result goes to the caller only (not to
    /// <see cref="Events"/>, and it does not reset the timeout clock).
    /// </summary>
    /// <returns>A beat with its <see cref="HeartbeatEvent.Latency"/>, or a timeout (<see cref="HeartbeatEvent.IsTimeout"/>)
    /// when no echo came within <see cref="Tolerance"/> of the call, timed on the session's scheduler.</returns>
    /// <remarks>When a beat is already out, this one goes as soon as its echo is back, within the same tolerance. Callers
    /// at the same time may share a beat. The task completes on the session's scheduler, where the echo or the timeout is
    /// handled.</remarks>
    /// <exception cref="ObjectDisposedException">The heartbeat has stopped (disposed, or its session ended).</exception>
    /// <exception cref="MuxadoException">The heartbeat failed while waiting (a wrong echo, a failed stream).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<HeartbeatEvent> BeatAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Completed outside every lock, where the echo or the timeout is handled (on the session's scheduler): the caller
        // continues there, and in virtual time within the step that completed it, with no hop through the thread pool.
        var result = new TaskCompletionSource<HeartbeatEvent>();
        byte[]? beat = null;
        TimeSpan tolerance;
        using (_gate.Enter())
        {
            if (_stopped)
            {
                throw StoppedError();
            }
            tolerance = _tolerance;
            if (_awaitingEcho)
            {
                _onDemandNext.Add(result);
            }
            else
            {
                _onDemandOut.Add(result);
                beat = StartBeatLocked(onDemand: true);
            }
        }
        if (beat is not null)
        {
            _ = WriteBeatAsync(beat);
        }
        var scheduler = _session.Scheduler;
        using var timeout = scheduler.Schedule(tolerance, () => result.TrySetResult(new HeartbeatEvent(true, TimeSpan.Zero, scheduler.Now)));
        using var cancel = cancellationToken.Register(() => result.TrySetCanceled(cancellationToken));
        try
        {
            return await result.Task.ConfigureAwait(false);
        }
        finally
        {
            using (_gate.Enter())
            {
                _onDemandOut.Remove(result);
                _onDemandNext.Remove(result);
            }
        }
    }

    private Exception StoppedError() => _stopError ?? new ObjectDisposedException(nameof(Heartbeat), "The heartbeat has stopped.");

    /// <summary>Schedules the next periodic beat, the current <see cref="Interval"/> from now.</summary>
    private void ScheduleTick()
    {
        TimeSpan interval;
        using (_gate.Enter())
        {
            if (_stopped)
            {
                return;
            }
            interval = _interval;
        }
        _beatTimer.Disposable = _session.Scheduler.Schedule(interval, () =>
        {
            SendBeat();
            ScheduleTick();
        });
    }

    private void SendBeat()
    {
        byte[] beat;
        using (_gate.Enter())
        {
            if (_stopped)
            {
                return;
            }
            if (_awaitingEcho)
            {
                // The previous beat is still out: its timeout is what reports trouble. This one goes when the echo is back.
                _tickMissed = true;
                return;
            }
            beat = StartBeatLocked(onDemand: false);
        }
        _ = WriteBeatAsync(beat);
    }

    /// <summary>Makes the next beat the one outstanding, and returns its bytes for writing outside the lock. Under the lock.</summary>
    private byte[] StartBeatLocked(bool onDemand)
    {
        var bytes = RandomNumberGenerator.GetBytes(4);
        _expected = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        _echoed = 0;
        _awaitingEcho = true;
        _outIsOnDemand = onDemand;
        _sentAt = _session.Scheduler.Now;
        return bytes;
    }

    /// <summary>Writes one beat; never faults (nobody awaits it): a failure stops the requester and is reported by <see cref="Events"/>.</summary>
    private async Task WriteBeatAsync(byte[] bytes)
    {
        try
        {
            await _stream!.WriteAsync(bytes).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MuxadoException or InvalidOperationException)
        {
            // After DisposeAsync the stream is half-closed (InvalidOperationException): a race with our own stop, not news.
            Stop(Volatile.Read(ref _stopped) ? null : ex);
        }
    }

    private void OnEcho(ReadOnlyMemory<byte> chunk)
    {
        Exception? mismatch = null;
        bool beat = false;
        List<TaskCompletionSource<HeartbeatEvent>>? answered = null;
        HeartbeatEvent result = default;
        bool echoed = false;
        byte[]? next = null;
        using (_gate.Enter())
        {
            foreach (byte b in chunk.Span)
            {
                if (!_awaitingEcho || _echoed >= 4)
                {
                    mismatch = new MuxadoException(ErrorCode.ProtocolError, "heartbeat: echo arrived with no beat outstanding");
                    break;
                }
                _echo[_echoed++] = b;
            }
            if (mismatch is null && _echoed == 4)
            {
                _awaitingEcho = false;
                if (BinaryPrimitives.ReadUInt32BigEndian(_echo) != _expected)
                {
                    mismatch = new MuxadoException(ErrorCode.ProtocolError, "heartbeat: echo does not match the beat");
                }
                else if (!_stopped)
                {
                    var now = _session.Scheduler.Now;
                    result = new HeartbeatEvent(false, now - _sentAt, now);
                    echoed = true;
                    if (_outIsOnDemand)
                    {
                        answered = [.. _onDemandOut];
                        _onDemandOut.Clear();
                    }
                    else
                    {
                        _events.PublishLocked(result);
                        beat = true;
                    }
                    next = StartWaitingBeatLocked();
                }
            }
        }
        if (mismatch is not null)
        {
            Stop(mismatch);
            return;
        }
        if (echoed)
        {
            _session.Telemetry.HeartbeatRoundTrip(result.Latency); // outside the gate: a meter listener is user code
        }
        if (beat)
        {
            ArmTimeout();
        }
        if (next is not null)
        {
            _ = WriteBeatAsync(next);
        }
        answered?.ForEach(caller => caller.TrySetResult(result)); // last: their continuations run here
    }

    /// <summary>The beat that waited for the echo just received, if any: callers of BeatAsync first, then a missed tick.</summary>
    private byte[]? StartWaitingBeatLocked()
    {
        if (_onDemandNext.Count > 0)
        {
            _onDemandOut.AddRange(_onDemandNext);
            _onDemandNext.Clear();
            return StartBeatLocked(onDemand: true);
        }
        if (_tickMissed)
        {
            _tickMissed = false;
            return StartBeatLocked(onDemand: false);
        }
        return null;
    }

    /// <summary>(Re)starts the timeout clock: a timeout is reported every interval + tolerance (their values then) without a beat.</summary>
    private void ArmTimeout()
    {
        TimeSpan timeout;
        using (_gate.Enter())
        {
            if (_stopped)
            {
                return;
            }
            timeout = _interval + _tolerance;
        }
        _timeoutTimer.Disposable = _session.Scheduler.Schedule(timeout, () =>
        {
            using (_gate.Enter())
            {
                if (_stopped)
                {
                    return;
                }
                _events.PublishLocked(new HeartbeatEvent(true, TimeSpan.Zero, _session.Scheduler.Now));
            }
            ArmTimeout();
        });
    }

    private void Stop(Exception? error)
    {
        List<TaskCompletionSource<HeartbeatEvent>> callers;
        using (_gate.Enter())
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            _stopError = error is null or MuxadoSessionException { End.IsClean: true } ? null : error;
            _events.EndLocked(_stopError);
            callers = [.. _onDemandOut, .. _onDemandNext];
            _onDemandOut.Clear();
            _onDemandNext.Clear();
        }
        _disposables.Dispose();
        foreach (var caller in callers)
        {
            caller.TrySetException(StoppedError());
        }
    }

    /// <summary>Stops beating and closes the heartbeat stream.</summary>
    public async ValueTask DisposeAsync()
    {
        Stop(null);
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
