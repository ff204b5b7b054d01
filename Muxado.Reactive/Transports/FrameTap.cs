using System.Reactive.Concurrency;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>The frame tap: shows every frame a transport reads and writes, for tracing and debugging.</summary>
public static class FrameTap
{
    /// <summary>
    /// A transport that behaves exactly as <paramref name="transport"/> does and shows <paramref name="tap"/> every frame
    /// that goes in or out, in the order they pass.
    /// </summary>
    /// <param name="transport">The transport to watch; the returned one owns it (disposing it disposes this one).</param>
    /// <param name="tap">Gets a <see cref="TappedFrame"/> per frame, and <c>OnCompleted</c> once the returned transport is
    /// disposed (after the frames before it). Never <c>OnError</c>: how a transport ends is the session's news.</param>
    /// <param name="scheduler">Where <paramref name="tap"/> is called, and whose clock stamps <see cref="TappedFrame.At"/>
    /// (default <see cref="MuxSchedulers.Delivery"/>; pass the session's scheduler, or a test scheduler). Schedulers that
    /// run work inline (<see cref="ImmediateScheduler"/>, <see cref="CurrentThreadScheduler"/>) are refused, for the reason
    /// below.</param>
    /// <remarks>
    /// <para><b>Shape.</b> As Rx's <c>Do(observer)</c> on a sequence, the tap is a side observer: it sees what passes and
    /// changes nothing. Frames are recorded as they are handed over: an inbound frame before the session reads it, an
    /// outbound frame before the inner transport takes it, so a reply never appears before the frame that caused it.</para>
    /// <para><b>Behaviour kept.</b> The returned transport forwards <see cref="FrameTransport.PendingWriteBytes"/>,
    /// <see cref="FrameTransport.BytesWritten"/> and <see cref="FrameTransport.WaitForWriteSpaceAsync"/>, so a session's
    /// back-pressure and write timeout work as on the inner transport, and it is a library transport when the inner one is
    /// (<see cref="FrameTransport.FromSocket"/>, <see cref="FrameTransport.CreateInMemoryPair"/>, ...): a session then
    /// still writes to it directly, without the outbox it uses for transports of the user's.</para>
    /// <para><b>Where the tap runs.</b> A session writes to a library transport while it holds its lock, so the tap never
    /// runs inside <c>OnNext</c>: each frame is copied (its payload is valid only during the call) and queued, and one
    /// serial drain on <paramref name="scheduler"/> hands the queue to <paramref name="tap"/>, one call at a time, in order.
    /// The queue is not bounded: a tap that cannot keep up holds memory, not the session.</para>
    /// <para><b>A tap that throws</b> is detached: it gets nothing more (no <c>OnError</c>, Rx forbids calling an observer
    /// after it failed), the frames queued for it are dropped, and the transport and its session go on unaffected.</para>
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="scheduler"/> runs work inline.</exception>
    public static FrameTransport Tap(this FrameTransport transport, IObserver<TappedFrame> tap, IScheduler? scheduler = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(tap);
        scheduler ??= MuxSchedulers.Delivery;
        if (scheduler is ImmediateScheduler or CurrentThreadScheduler)
        {
            throw new ArgumentException(
                $"The tap's scheduler cannot be {scheduler.GetType().Name}: it would run the tap inside the session's lock.", nameof(scheduler));
        }
        return new TappedFrameTransport(transport, new TapQueue(tap, scheduler));
    }

    /// <summary>The frames on their way to the tap, and the serial drain that delivers them.</summary>
    /// <remarks>
    /// Its lock is a <see cref="DeferringLock"/>: a frame is recorded while the session may hold its own lock, and
    /// deferral is per thread, so signalling the drain (a call to the user's scheduler) waits until the thread holds no
    /// deferring lock at all, as the session's own scheduling does.
    /// </remarks>
    private sealed class TapQueue : IDeferredWork
    {
        private readonly DeferringLock _lock = new();
        private readonly Queue<TappedFrame> _frames = new();
        private readonly IScheduler _scheduler;
        private readonly SerialDrain _drain;
        private IObserver<TappedFrame>? _tap; // null once it ended or threw
        private bool _ending;

        public TapQueue(IObserver<TappedFrame> tap, IScheduler scheduler)
        {
            _tap = tap;
            _scheduler = scheduler;
            _drain = new SerialDrain(scheduler, Step);
        }

        /// <summary>
        /// Copies and queues a frame. May run under a session's lock: it reads the scheduler's clock, and leaves the
        /// signal to the drain until the locks are released.
        /// </summary>
        public void Record(FrameDirection direction, in Frame frame)
        {
            var tapped = new TappedFrame(direction, frame.WithOwnedPayload(), _scheduler.Now);
            using (_lock.Enter())
            {
                if (_tap is null || _ending)
                {
                    return;
                }
                _frames.Enqueue(tapped);
                _lock.Defer(this);
            }
        }

        /// <summary>The tap gets <c>OnCompleted</c> after the frames queued so far; later frames are not shown.</summary>
        public void Complete()
        {
            using (_lock.Enter())
            {
                if (_tap is null || _ending)
                {
                    return;
                }
                _ending = true;
                _lock.Defer(this);
            }
        }

        /// <summary>Deferred: wakes the drain, outside every deferring lock.</summary>
        void IDeferredWork.Run() => _drain.Signal();

        private bool Step()
        {
            IObserver<TappedFrame>? tap;
            TappedFrame frame;
            bool end = false;
            using (_lock.Enter())
            {
                tap = _tap;
                if (tap is null)
                {
                    return false;
                }
                if (!_frames.TryDequeue(out frame))
                {
                    if (!_ending)
                    {
                        return false;
                    }
                    end = true;
                    _tap = null;
                }
            }
            try
            {
                if (end)
                {
                    tap.OnCompleted();
                }
                else
                {
                    tap.OnNext(frame);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A tap is a bystander: its failure must not reach the scheduler's thread (it would end the process) nor the
                // session. It is detached instead.
                using (_lock.Enter())
                {
                    _tap = null;
                    _frames.Clear();
                }
                return false;
            }
            return !end;
        }
    }

    /// <summary>The inner transport with a tap on both directions; everything else is the inner transport's.</summary>
    private sealed class TappedFrameTransport : FrameTransport
    {
        private readonly FrameTransport _inner;
        private readonly TapQueue _tap;
        private readonly TappedInbound _inbound;
        private readonly TappedOutbound _outbound;

        public TappedFrameTransport(FrameTransport inner, TapQueue tap)
        {
            _inner = inner;
            _tap = tap;
            _inbound = new TappedInbound(inner.Inbound, tap);
            _outbound = new TappedOutbound(inner.Outbound, tap);
        }

        public override IObservable<Frame> Inbound => _inbound;

        public override IObserver<Frame> Outbound => _outbound;

        public override long PendingWriteBytes => _inner.PendingWriteBytes;

        public override long BytesWritten => _inner.BytesWritten;

        public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
            _inner.WaitForWriteSpaceAsync(threshold, cancellationToken);

        internal override bool IsQueueingWriter => _inner.IsQueueingWriter;

        internal override long BytesEnqueued => _inner.BytesEnqueued;

        internal override ValueTask WaitForWrittenAsync(long position) => _inner.WaitForWrittenAsync(position);

        internal override bool WatchWriteSpace(long threshold, Action callback) => _inner.WatchWriteSpace(threshold, callback);

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await _inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _tap.Complete();
            }
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class TappedInbound(IObservable<Frame> inner, TapQueue tap) : IObservable<Frame>
    {
        public IDisposable Subscribe(IObserver<Frame> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            return inner.Subscribe(new Reader(observer, tap));
        }

        /// <summary>Records first, so that what the reader writes in reply comes after the frame in the tap.</summary>
        private sealed class Reader(IObserver<Frame> reader, TapQueue tap) : IObserver<Frame>
        {
            public void OnNext(Frame value)
            {
                tap.Record(FrameDirection.Inbound, value);
                reader.OnNext(value);
            }

            public void OnError(Exception error) => reader.OnError(error);

            public void OnCompleted() => reader.OnCompleted();
        }
    }

    /// <summary>Records first, then writes: a frame the peer answers at once is still in the tap before the answer.</summary>
    private sealed class TappedOutbound(IObserver<Frame> inner, TapQueue tap) : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
            tap.Record(FrameDirection.Outbound, value);
            inner.OnNext(value);
        }

        public void OnError(Exception error) => inner.OnError(error);

        public void OnCompleted() => inner.OnCompleted();
    }
}
