using System.Reactive.Concurrency;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>What went onto a <see cref="ThrottledLink"/>: a frame's header fields and when it was queued or left.</summary>
internal readonly record struct LinkFrame(long Time, FrameType Type, uint StreamId, FrameFlags Flags, int Length, uint Value)
{
    public int WireLength => Frame.HeaderLength + Length;
}

/// <summary>
/// One end of a link that transmits at <see cref="BytesPerSecond"/> in virtual time, as a slow or stalled network would:
/// a transport of the user's kind (derived from <see cref="FrameTransport"/>, with a write queue it reports through
/// <see cref="PendingWriteBytes"/>, <see cref="BytesWritten"/> and <see cref="WaitForWriteSpaceAsync"/>).
/// </summary>
/// <remarks>
/// <para>Frames handed to <see cref="Outbound"/> wait in a queue. Every <see cref="Tick"/> of the scheduler's clock while
/// the queue is not empty, <c>BytesPerSecond × tick</c> bytes leave it (a frame counts as written byte by byte, as a
/// socket accepts part of a buffer) and each frame whose last byte has left is delivered to the peer end's Inbound
/// subscriber, on the scheduler. An idle link saves up nothing. <see cref="BytesPerSecond"/> may change at any time;
/// 0 is a peer that reads nothing.</para>
/// <para>An end made with no peer (<see cref="CreateSink"/>) drops what it transmits; only the header fields are kept,
/// so that a test can move hundreds of megabytes without holding them.</para>
/// <para>Every enqueue records <see cref="PendingWriteBytes"/> in <see cref="MaxPending"/>, so a test can check a bound on
/// the queue at every instant rather than at the instants it happens to look.</para>
/// </remarks>
internal sealed class ThrottledLink : FrameTransport, IObservable<Frame>, IObserver<Frame>
{
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly BoundedTestScheduler _scheduler;
    private readonly bool _queueing;
    private readonly object _gate = new();
    private readonly Queue<(Frame? Frame, LinkFrame Header)> _queue = new();
    private readonly List<(long Threshold, TaskCompletionSource Done)> _spaceWaiters = [];
    private ThrottledLink? _peer;
    private IObserver<Frame>? _inbound;
    private long _pending;
    private long _written;
    private long _headLeft; // bytes of the head frame not yet transmitted
    private long _carry;    // bytes × ticks-per-second not yet worth a whole byte
    private bool _ticking;
    private bool _completeWhenDrained;
    private bool _closed;
    private bool _inboundEnded;

    private ThrottledLink(BoundedTestScheduler scheduler, long bytesPerSecond, bool queueing)
    {
        _scheduler = scheduler;
        BytesPerSecond = bytesPerSecond;
        _queueing = queueing;
    }

    /// <summary>Two ends back to back, each transmitting at <paramref name="bytesPerSecond"/>.</summary>
    /// <param name="queueing">Present the ends as the library's own queueing transports (the session writes to them under
    /// its lock, as to a socket transport) instead of as a user's transport (written through the session's outbox).</param>
    public static (ThrottledLink Left, ThrottledLink Right) CreatePair(BoundedTestScheduler scheduler, long bytesPerSecond, bool queueing = false)
    {
        var left = new ThrottledLink(scheduler, bytesPerSecond, queueing);
        var right = new ThrottledLink(scheduler, bytesPerSecond, queueing);
        left._peer = right;
        right._peer = left;
        return (left, right);
    }

    /// <summary>An end whose peer reads everything it is sent and answers nothing.</summary>
    public static ThrottledLink CreateSink(BoundedTestScheduler scheduler, long bytesPerSecond, bool queueing = false) =>
        new(scheduler, bytesPerSecond, queueing);

    /// <summary>Transmission rate; 0 transmits nothing. May be changed between steps of the scheduler.</summary>
    public long BytesPerSecond { get; set; }

    /// <summary>Frames queued, in queue order (which is wire order), stamped with the time they were queued.</summary>
    public List<LinkFrame> Queued { get; } = [];

    /// <summary>Frames whose last byte left, stamped with that time.</summary>
    public List<LinkFrame> Transmitted { get; } = [];

    /// <summary>The most <see cref="PendingWriteBytes"/> seen right after an enqueue.</summary>
    public long MaxPending { get; private set; }

    /// <summary>
    /// The most waits for write space (<see cref="WaitForWriteSpaceAsync"/>, which the session's watch on the queue uses)
    /// registered at once; a test may set it back to 0 to measure a later period.
    /// </summary>
    public int MaxSpaceWaiters { get; set; }

    /// <summary>The times at which the queue ran empty.</summary>
    public List<long> RanEmptyAt { get; } = [];

    public override IObservable<Frame> Inbound => this;

    public override IObserver<Frame> Outbound => this;

    public override long PendingWriteBytes
    {
        get
        {
            lock (_gate)
            {
                return _pending;
            }
        }
    }

    public override long BytesWritten
    {
        get
        {
            lock (_gate)
            {
                return _written;
            }
        }
    }

    internal override bool IsQueueingWriter => _queueing;

    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_closed || _pending <= threshold)
            {
                return default;
            }
            // Completed on the scheduler's thread by a tick; continuations run there, inside the tick that made room.
            done = new TaskCompletionSource();
            _spaceWaiters.Add((threshold, done));
            MaxSpaceWaiters = Math.Max(MaxSpaceWaiters, _spaceWaiters.Count);
        }
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    _spaceWaiters.RemoveAll(w => w.Done == done);
                }
                done.TrySetCanceled(cancellationToken);
            });
        }
        return new ValueTask(done.Task);
    }

    // ---------------------------------------------------------------- Outbound

    public void OnNext(Frame value)
    {
        lock (_gate)
        {
            if (_closed || _completeWhenDrained)
            {
                return;
            }
            var header = new LinkFrame(Now, value.Type, value.StreamId, value.Flags, value.Length, value.Type == FrameType.GoAway ? (uint)value.ErrorCode : value.Value);
            // Copied: the writer may reuse its buffer once OnNext returns. A sink keeps no payloads at all.
            Frame? copy = _peer is null ? null : CopyOf(value);
            if (_queue.Count == 0)
            {
                _headLeft = header.WireLength;
            }
            _queue.Enqueue((copy, header));
            Queued.Add(header);
            _pending += header.WireLength;
            MaxPending = Math.Max(MaxPending, _pending);
            StartTickingLocked();
        }
    }

    public void OnCompleted()
    {
        bool now;
        lock (_gate)
        {
            _completeWhenDrained = true;
            now = _queue.Count == 0;
        }
        if (now)
        {
            EndPeerInbound();
        }
    }

    public void OnError(Exception error) => Close();

    // ---------------------------------------------------------------- Inbound

    public IDisposable Subscribe(IObserver<Frame> observer)
    {
        lock (_gate)
        {
            if (_inbound is not null)
            {
                throw new InvalidOperationException("A transport's Inbound allows one subscription.");
            }
            _inbound = observer;
        }
        return System.Reactive.Disposables.Disposable.Create(() =>
        {
            lock (_gate)
            {
                _inbound = null;
            }
        });
    }

    public override ValueTask DisposeAsync()
    {
        Close();
        return base.DisposeAsync();
    }

    private void Close()
    {
        List<TaskCompletionSource> waiters;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            // What was never transmitted is dropped, like the unsent bytes of a closed socket (and is not counted as written).
            _pending = 0;
            _queue.Clear();
            waiters = _spaceWaiters.ConvertAll(w => w.Done);
            _spaceWaiters.Clear();
        }
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult();
        }
        EndPeerInbound();
        _scheduler.Schedule(() => EndInbound(this));
    }

    private long Now => _scheduler.Clock;

    private static Frame CopyOf(in Frame frame) => frame.Type switch
    {
        FrameType.Data => Frame.Data(frame.StreamId, frame.Payload.ToArray(), frame.Flags),
        FrameType.GoAway => Frame.GoAway(frame.LastStreamId, frame.ErrorCode, frame.Payload.ToArray()),
        _ => frame,
    };

    private void StartTickingLocked()
    {
        if (!_ticking && !_closed)
        {
            _ticking = true;
            _scheduler.Schedule(Tick, OnTick);
        }
    }

    private void OnTick()
    {
        var delivered = new List<Frame>();
        List<TaskCompletionSource>? ready = null;
        bool ended = false;
        lock (_gate)
        {
            if (_closed)
            {
                _ticking = false;
                return;
            }
            _carry += BytesPerSecond * Tick.Ticks;
            long budget = Math.Min(_carry / TimeSpan.TicksPerSecond, _pending);
            _carry -= budget * TimeSpan.TicksPerSecond;
            _written += budget;
            _pending -= budget;
            while (budget > 0)
            {
                long step = Math.Min(budget, _headLeft);
                budget -= step;
                _headLeft -= step;
                if (_headLeft == 0)
                {
                    var (frame, header) = _queue.Dequeue();
                    Transmitted.Add(header with { Time = Now });
                    if (frame is { } f)
                    {
                        delivered.Add(f);
                    }
                    _headLeft = _queue.TryPeek(out var next) ? next.Header.WireLength : 0;
                }
            }
            for (int i = _spaceWaiters.Count - 1; i >= 0; i--)
            {
                if (_pending <= _spaceWaiters[i].Threshold)
                {
                    (ready ??= []).Add(_spaceWaiters[i].Done);
                    _spaceWaiters.RemoveAt(i);
                }
            }
            if (_queue.Count == 0)
            {
                // An idle link saves up no bandwidth for later.
                _ticking = false;
                _carry = 0;
                RanEmptyAt.Add(Now);
                ended = _completeWhenDrained;
            }
            else
            {
                _scheduler.Schedule(Tick, OnTick);
            }
        }
        if (_peer is not null)
        {
            foreach (var frame in delivered)
            {
                _peer.DeliverInbound(frame);
            }
        }
        if (ready is not null)
        {
            foreach (var waiter in ready)
            {
                waiter.TrySetResult();
            }
        }
        if (ended)
        {
            EndPeerInbound();
        }
    }

    private void DeliverInbound(Frame frame)
    {
        IObserver<Frame>? inbound;
        lock (_gate)
        {
            inbound = _inboundEnded ? null : _inbound;
        }
        inbound?.OnNext(frame);
    }

    private void EndPeerInbound()
    {
        if (_peer is { } peer)
        {
            _scheduler.Schedule(() => EndInbound(peer));
        }
    }

    private static void EndInbound(ThrottledLink end)
    {
        IObserver<Frame>? inbound;
        lock (end._gate)
        {
            if (end._inboundEnded)
            {
                return;
            }
            end._inboundEnded = true;
            inbound = end._inbound;
        }
        inbound?.OnCompleted();
    }
}
