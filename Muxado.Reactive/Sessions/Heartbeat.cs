using System.Buffers.Binary;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Security.Cryptography;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>What a heartbeat requester saw: a beat with its latency, or a timeout.</summary>
/// <param name="IsTimeout">True when no beat succeeded within interval + tolerance.</param>
/// <param name="Latency">Time from writing the beat to reading its echo (zero for a timeout).</param>
/// <param name="At">When, on the session's scheduler.</param>
public readonly record struct HeartbeatEvent(bool IsTimeout, TimeSpan Latency, DateTimeOffset At);

/// <summary>
/// The heartbeat requester of PROTOCOL.md: on its own typed stream (0xFFFFFFFF) it writes a random 4-byte
/// value every <c>interval</c> and times the echo. Every timer runs on the session's scheduler, so a test
/// scheduler drives it exactly.
/// </summary>
/// <remarks>
/// <see cref="Events"/> yields a beat per echo and a timeout each interval + tolerance without one. It fails
/// when an echo does not match (<see cref="ErrorCode.ProtocolError"/>) or the stream fails, and completes when
/// the requester is disposed or the session ends cleanly.
/// </remarks>
public sealed class Heartbeat : IAsyncDisposable
{
    private readonly MuxSession _session;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    // Events go to each watcher through its own serial drain: nobody's handler runs under _gate or on the stream's
    // delivery, so disposing the heartbeat never waits for a handler (a handler that takes a lock the disposer holds
    // used to deadlock against the synchronized subject this replaced).
    private readonly DeferringLock _gate = new();
    private readonly Broadcast<HeartbeatEvent> _events;
    private readonly CompositeDisposable _disposables = [];
    private readonly SerialDisposable _timeoutTimer = new();
    private readonly byte[] _echo = new byte[4];
    private MuxStream? _stream;
    private uint _expected;
    private int _echoed;
    private bool _awaitingEcho;
    private DateTimeOffset _sentAt;
    private bool _stopped;

    private Heartbeat(MuxSession session, TimeSpan interval, TimeSpan tolerance)
    {
        _session = session;
        _interval = interval;
        _timeout = interval + tolerance;
        _events = new Broadcast<HeartbeatEvent>(_gate, session.Scheduler);
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
        if (every <= TimeSpan.Zero || slack < TimeSpan.Zero || every > TimeSpan.FromDays(1) || slack > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), "The interval must be positive, the tolerance not negative, each at most a day.");
        }
        var beat = new Heartbeat(session, every, slack);
        beat._stream = await session.OpenTypedAsync(MuxSession.HeartbeatStreamType, cancellationToken).ConfigureAwait(false);
        beat._disposables.Add(beat._stream.Received.Subscribe(beat.OnEcho, beat.Stop, () => beat.Stop(null)));
        beat._disposables.Add(session.Scheduler.SchedulePeriodic(beat._interval, beat.SendBeat));
        beat._disposables.Add(beat._timeoutTimer);
        beat.ArmTimeout();
        return beat;
    }

    private void SendBeat()
    {
        uint value;
        using (_gate.Enter())
        {
            if (_stopped || _awaitingEcho)
            {
                return; // the previous beat is still out: its timeout is what reports trouble
            }
            value = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(4));
            _expected = value;
            _echoed = 0;
            _awaitingEcho = true;
            _sentAt = _session.Scheduler.Now;
        }
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        _ = WriteBeatAsync(bytes);
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
                    _events.PublishLocked(new HeartbeatEvent(false, now - _sentAt, now));
                    beat = true;
                }
            }
        }
        if (mismatch is not null)
        {
            Stop(mismatch);
        }
        else if (beat)
        {
            ArmTimeout();
        }
    }

    /// <summary>(Re)starts the timeout clock: a timeout is reported every interval + tolerance without a beat.</summary>
    private void ArmTimeout() =>
        _timeoutTimer.Disposable = _session.Scheduler.SchedulePeriodic(_timeout, () =>
        {
            using (_gate.Enter())
            {
                if (!_stopped)
                {
                    _events.PublishLocked(new HeartbeatEvent(true, TimeSpan.Zero, _session.Scheduler.Now));
                }
            }
        });

    private void Stop(Exception? error)
    {
        using (_gate.Enter())
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            _events.EndLocked(error is null or MuxadoSessionException { End.IsClean: true } ? null : error);
        }
        _disposables.Dispose();
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
