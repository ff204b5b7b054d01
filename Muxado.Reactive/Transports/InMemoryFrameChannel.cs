using System.Buffers;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// One direction of an in-memory transport pair: the sender's <c>Outbound</c> feeds it, the receiver's
/// <c>Inbound</c> drains it.
/// </summary>
/// <remarks>
/// <para>Each frame goes through the real codec: it is encoded with <see cref="FrameWriter"/> and decoded with
/// <see cref="FrameReader"/> at send time. So the receiver owns a fresh copy of the payload (the sender may reuse
/// its buffer at once), the reader limits truncate exactly as on a wire, and a frame a real peer would reject
/// fails the receiver's Inbound with the same <see cref="MuxadoFrameException"/>.</para>
/// <para>Delivery never happens inside the sender's call: a send only queues, and the library's serial drain
/// (<see cref="ObserverDrain{T}"/>) delivers on the scheduler, in queue order, one notification at a time. With a
/// virtual-time scheduler nothing arrives until the test advances its clock.</para>
/// </remarks>
internal sealed class InMemoryFrameChannel : ObserverDrain<Frame>, IWriteQueueCounters
{
    private readonly DeferringLock _lock;
    private readonly Queue<Item> _queue = new();
    private readonly FrameReaderLimits _limits;
    private readonly IDeferredWork _releaseWaiters;
    private ArrayBufferWriter<byte> _encoder = new(256);
    private bool _subscribed;
    private bool _sendingEnded;
    private bool _receivingEnded;
    private long _pending;
    private long _enqueued;
    private long _delivered;

    /// <summary>Creates an empty channel delivering on <paramref name="scheduler"/>.</summary>
    public InMemoryFrameChannel(IScheduler scheduler, FrameReaderLimits limits)
        : this(new DeferringLock(), scheduler, limits)
    {
    }

    private InMemoryFrameChannel(DeferringLock ownerLock, IScheduler scheduler, FrameReaderLimits limits)
        : base(ownerLock, scheduler)
    {
        _lock = ownerLock;
        _limits = limits;
        Waiters = new WriteSpaceWaiters(this);
        _releaseWaiters = new ReleaseWaiters(Waiters);
    }

    /// <summary>Called (outside any lock) when the receiver's observer threw; the receiving transport closes.</summary>
    public Action? ObserverFaulted { get; set; }

    /// <summary>Wire bytes of the frames sent and not yet delivered.</summary>
    public long PendingBytes => Interlocked.Read(ref _pending);

    /// <summary>Wire bytes of every frame sent so far.</summary>
    public long BytesEnqueued => Interlocked.Read(ref _enqueued);

    /// <summary>Wire bytes of every frame delivered (or dropped by a close) so far.</summary>
    public long BytesDelivered => Interlocked.Read(ref _delivered);

    /// <summary>What the channel's <see cref="Waiters"/> count as written: the frames delivered.</summary>
    long IWriteQueueCounters.BytesWritten => BytesDelivered;

    /// <summary>Senders waiting for <see cref="PendingBytes"/> to drop.</summary>
    public WriteSpaceWaiters Waiters { get; }

    /// <summary>Queues a copy of <paramref name="frame"/> as the receiver would decode it.</summary>
    /// <exception cref="ArgumentException">The frame is truncated and cannot be encoded.</exception>
    public void Send(in Frame frame)
    {
        using (_lock.Enter())
        {
            if (_sendingEnded)
            {
                return;
            }
            Item item;
            try
            {
                item = new Item(RoundTrip(frame), null, IsEnd: false);
            }
            catch (MuxadoFrameException ex)
            {
                // A real reader fails at this frame and reads nothing after it.
                _sendingEnded = true;
                item = new Item(default, ex, IsEnd: true);
            }
            EnqueueLocked(item);
        }
    }

    /// <summary>The sender closed its direction: the receiver completes after the queued frames.</summary>
    public void Complete() => End(null);

    /// <summary>The sender aborted: the receiver fails with <paramref name="error"/> after the queued frames.</summary>
    public void Fail(Exception error) => End(error);

    /// <summary>
    /// The receiving transport closed: queued frames are dropped, the receiver's Inbound completes (now, or on
    /// subscription), and later sends are dropped like bytes written to a closed socket.
    /// </summary>
    public void CloseReceiver()
    {
        using (_lock.Enter())
        {
            _sendingEnded = true;
            _lock.Defer(_releaseWaiters);
            if (_receivingEnded)
            {
                return;
            }
            DropQueuedLocked();
            EnqueueLocked(new Item(default, null, IsEnd: true));
        }
    }

    /// <summary>Subscribes the receiver; frames queued before now are delivered after it.</summary>
    /// <exception cref="InvalidOperationException">A second subscription.</exception>
    public IDisposable Subscribe(IObserver<Frame> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        using (_lock.Enter())
        {
            if (_subscribed)
            {
                throw new InvalidOperationException("A transport's Inbound allows one subscription.");
            }
            _subscribed = true;
        }
        return (IDisposable?)Attach(observer, "A transport's Inbound allows one subscription.") ?? Disposable.Empty;
    }

    protected override Next<Frame> TakeLocked()
    {
        if (!_queue.TryDequeue(out var item))
        {
            return Next<Frame>.Nothing;
        }
        if (item.IsEnd)
        {
            StopReceivingLocked();
            return Next<Frame>.End(item.Error);
        }
        Interlocked.Add(ref _pending, -item.Frame.WireLength);
        Interlocked.Add(ref _delivered, item.Frame.WireLength);
        return Next<Frame>.Of(item.Frame);
    }

    protected override void OnDelivered(IObserver<Frame> observer, Frame item) => Waiters.Notify();

    protected override void OnObserverFaulted(Frame item, Exception error)
    {
        // The Rx grammar forbids telling this observer anything more; close the receiving transport so that the
        // failure shows on both sides rather than as a reader that silently stopped.
        Waiters.ReleaseAll();
        ObserverFaulted?.Invoke();
    }

    /// <summary>Unsubscribed, ended or faulted: nobody will ever read this direction again.</summary>
    protected override void OnDetachedLocked()
    {
        StopReceivingLocked();
        _lock.Defer(_releaseWaiters);
    }

    private void End(Exception? error)
    {
        using (_lock.Enter())
        {
            if (_sendingEnded)
            {
                return;
            }
            _sendingEnded = true;
            EnqueueLocked(new Item(default, error, IsEnd: true));
        }
    }

    private Frame RoundTrip(in Frame frame)
    {
        FrameWriter.Write(_encoder, frame);
        var wire = new ReadOnlySequence<byte>(_encoder.WrittenMemory);
        bool parsed = FrameReader.TryRead(ref wire, _limits, out var decoded, out _);
        // The bytes a truncated frame would discard are simply not read: the whole frame is in the encoder.
        // A buffer grown for one large frame is let go rather than kept for the pair's lifetime.
        _encoder = _encoder.Capacity > 64 * 1024 ? new ArrayBufferWriter<byte>(256) : _encoder;
        _encoder.ResetWrittenCount();
        return parsed ? decoded : throw new InvalidOperationException("FrameReader did not parse a whole encoded frame.");
    }

    private void EnqueueLocked(Item item)
    {
        if (_receivingEnded)
        {
            return; // nobody will ever read it
        }
        _queue.Enqueue(item);
        if (!item.IsEnd)
        {
            Interlocked.Add(ref _pending, item.Frame.WireLength);
            Interlocked.Add(ref _enqueued, item.Frame.WireLength);
        }
        SignalLocked();
    }

    private void StopReceivingLocked()
    {
        _receivingEnded = true;
        _sendingEnded = true;
        DropQueuedLocked();
    }

    private void DropQueuedLocked()
    {
        _queue.Clear();
        // Dropped bytes count as delivered: like bytes a closed socket threw away, they left the sender's queue.
        Interlocked.Add(ref _delivered, Interlocked.Exchange(ref _pending, 0));
    }

    private readonly record struct Item(Frame Frame, Exception? Error, bool IsEnd);

    private sealed class ReleaseWaiters(WriteSpaceWaiters waiters) : IDeferredWork
    {
        public void Run() => waiters.ReleaseAll();
    }
}
