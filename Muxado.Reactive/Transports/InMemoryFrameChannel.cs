using System.Buffers;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
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
/// <para>Delivery never happens inside the sender's call: a send only queues, and a drain is scheduled on the
/// scheduler at "now". At most one drain is scheduled at a time and it delivers in queue order, so the
/// receiver's notifications are serial and ordered on any scheduler. With a virtual-time scheduler nothing
/// arrives until the test advances its clock.</para>
/// </remarks>
internal sealed class InMemoryFrameChannel
{
    private readonly object _gate = new();
    private readonly Queue<Item> _queue = new();
    private readonly IScheduler _scheduler;
    private readonly FrameReaderLimits _limits;
    private ArrayBufferWriter<byte> _encoder = new(256);
    private readonly Action _drain;
    private IObserver<Frame>? _observer;
    private bool _subscribed;
    private bool _sendingEnded;
    private bool _receivingEnded;
    private bool _drainScheduled;
    private long _pending;

    /// <summary>Creates an empty channel delivering on <paramref name="scheduler"/>.</summary>
    public InMemoryFrameChannel(IScheduler scheduler, FrameReaderLimits limits)
    {
        _scheduler = scheduler;
        _limits = limits;
        _drain = Drain;
        Waiters = new WriteSpaceWaiters(() => PendingBytes);
    }

    /// <summary>Called (outside any lock) when the receiver's observer threw; the receiving transport closes.</summary>
    public Action? ObserverFaulted { get; set; }

    /// <summary>Wire bytes of the frames sent and not yet delivered.</summary>
    public long PendingBytes => Interlocked.Read(ref _pending);

    /// <summary>Senders waiting for <see cref="PendingBytes"/> to drop.</summary>
    public WriteSpaceWaiters Waiters { get; }

    /// <summary>Queues a copy of <paramref name="frame"/> as the receiver would decode it.</summary>
    /// <exception cref="ArgumentException">The frame is truncated and cannot be encoded.</exception>
    public void Send(in Frame frame)
    {
        bool schedule;
        lock (_gate)
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
            schedule = EnqueueLocked(item);
        }
        Schedule(schedule);
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
        bool schedule;
        lock (_gate)
        {
            _sendingEnded = true;
            if (_receivingEnded)
            {
                return;
            }
            _queue.Clear();
            Interlocked.Exchange(ref _pending, 0);
            schedule = EnqueueLocked(new Item(default, null, IsEnd: true));
        }
        Waiters.ReleaseAll();
        Schedule(schedule);
    }

    /// <summary>Subscribes the receiver; frames queued before now are delivered after it.</summary>
    public IDisposable Subscribe(IObserver<Frame> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        bool schedule;
        lock (_gate)
        {
            if (_subscribed)
            {
                throw new InvalidOperationException("A transport's Inbound allows one subscription.");
            }
            _subscribed = true;
            _observer = observer;
            schedule = TakeDrainLocked();
        }
        Schedule(schedule);
        return Disposable.Create(observer, Unsubscribe);
    }

    private void End(Exception? error)
    {
        bool schedule;
        lock (_gate)
        {
            if (_sendingEnded)
            {
                return;
            }
            _sendingEnded = true;
            schedule = EnqueueLocked(new Item(default, error, IsEnd: true));
        }
        Schedule(schedule);
    }

    private void Unsubscribe(IObserver<Frame> observer)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_observer, observer))
            {
                return;
            }
            StopReceivingLocked();
        }
        Waiters.ReleaseAll();
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

    private bool EnqueueLocked(Item item)
    {
        if (_receivingEnded)
        {
            return false; // nobody will ever read it
        }
        _queue.Enqueue(item);
        if (!item.IsEnd)
        {
            Interlocked.Add(ref _pending, item.Frame.WireLength);
        }
        return TakeDrainLocked();
    }

    private bool TakeDrainLocked()
    {
        if (_drainScheduled || _observer is null || _queue.Count == 0)
        {
            return false;
        }
        _drainScheduled = true;
        return true;
    }

    private void Schedule(bool schedule)
    {
        if (schedule)
        {
            _scheduler.Schedule(_drain);
        }
    }

    private void Drain()
    {
        while (true)
        {
            Item item;
            IObserver<Frame> observer;
            lock (_gate)
            {
                if (_observer is null || _queue.Count == 0)
                {
                    _drainScheduled = false;
                    return;
                }
                item = _queue.Dequeue();
                observer = _observer;
                if (item.IsEnd)
                {
                    StopReceivingLocked();
                    _drainScheduled = false;
                }
                else
                {
                    Interlocked.Add(ref _pending, -item.Frame.WireLength);
                }
            }

            if (item.IsEnd)
            {
                Waiters.ReleaseAll();
                End(observer, item.Error);
                return;
            }

            Waiters.Notify();
            if (!TryDeliver(observer, item.Frame))
            {
                return;
            }
        }
    }

    private void End(IObserver<Frame> observer, Exception? error)
    {
        try
        {
            observer.End(error);
        }
        catch (Exception)
        {
            // Not into the scheduler (on the task pool that would end the process): close the receiving end
            // as when OnNext throws, so the fault shows as a closed connection.
            ObserverFaulted?.Invoke();
        }
    }

    private bool TryDeliver(IObserver<Frame> observer, Frame frame)
    {
        try
        {
            observer.OnNext(frame);
            return true;
        }
        catch (Exception)
        {
            // The Rx grammar forbids telling this observer anything more; close the receiving transport so that
            // the failure shows on both sides rather than as a reader that silently stopped.
            lock (_gate)
            {
                StopReceivingLocked();
                _drainScheduled = false;
            }
            Waiters.ReleaseAll();
            ObserverFaulted?.Invoke();
            return false;
        }
    }

    private void StopReceivingLocked()
    {
        _observer = null;
        _receivingEnded = true;
        _sendingEnded = true;
        _queue.Clear();
        Interlocked.Exchange(ref _pending, 0);
    }

    private readonly record struct Item(Frame Frame, Exception? Error, bool IsEnd);
}
