using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive;

/// <summary>
/// Where a session's frames go, in the order its protocol core produced them (under the session lock).
/// </summary>
/// <remarks>
/// The library's own transports only encode into their write queue, so frames go to them directly under the lock
/// (<see cref="Direct"/>): order is free and a payload is serialised before the write that made it returns. Any other
/// transport is user code and must not be called under the lock, so its frames go through an ordered outbox that is
/// flushed after the lock is released (<see cref="Outbox"/>).
/// </remarks>
internal abstract class FrameOutput
{
    /// <summary>The output for <paramref name="transport"/>.</summary>
    public static FrameOutput For(FrameTransport transport, DeferringLock sessionLock, Action<Exception> onFailed) =>
        transport.IsQueueingWriter ? new Direct(transport) : new Outbox(transport, sessionLock, onFailed);

    /// <summary>Writes a frame. Under the session lock.</summary>
    public abstract void WriteLocked(in Frame frame);

    /// <summary>Completes the transport's Outbound after the frames already written. Under the session lock.</summary>
    public abstract void CompleteLocked();

    /// <summary>Bytes written here and not yet on the wire, as far as the output knows. Never calls user code.</summary>
    public abstract long PendingBytes { get; }

    /// <summary>Bytes that have left this output's queue since the start (its progress). Never calls user code.</summary>
    public abstract long BytesWritten { get; }

    /// <summary>
    /// Calls <paramref name="callback"/> once (synchronously, outside the session lock) when <see cref="PendingBytes"/> is at
    /// most <paramref name="threshold"/>, or the transport closed; false, and no call, when it already is. Under the session lock.
    /// </summary>
    public abstract bool WatchSpaceLocked(long threshold, Action callback);

    /// <summary>
    /// Reads the transport's own counters again, for <see cref="PendingBytes"/> and <see cref="BytesWritten"/>. Outside the
    /// session lock: for a transport of the user's they are user code.
    /// </summary>
    public virtual void RefreshCounters()
    {
    }

    /// <summary>Where the frames written so far end. Under the session lock.</summary>
    public abstract long PositionLocked { get; }

    /// <summary>Completes once everything up to <paramref name="position"/> has been written, or the transport closed.</summary>
    public abstract ValueTask WaitForWrittenAsync(long position);

    /// <summary>Frames straight into a library transport's queue.</summary>
    private sealed class Direct(FrameTransport transport) : FrameOutput
    {
        private readonly IObserver<Frame> _outbound = transport.Outbound;

        public override void WriteLocked(in Frame frame) => _outbound.OnNext(frame);

        public override void CompleteLocked()
        {
            try
            {
                _outbound.OnCompleted();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException)
            {
                // The transport is already gone; nothing is left to flush.
            }
        }

        public override long PendingBytes => transport.PendingWriteBytes;

        public override long BytesWritten => transport.BytesWritten;

        public override bool WatchSpaceLocked(long threshold, Action callback) => transport.WatchWriteSpace(threshold, callback);

        public override long PositionLocked => transport.BytesEnqueued;

        public override ValueTask WaitForWrittenAsync(long position) => transport.WaitForWrittenAsync(position);
    }

    /// <summary>
    /// Frames for a user's transport: copied (the caller's buffer may be reused as soon as its write returns), queued
    /// under the session lock, and handed to the transport after the lock is released by one flusher at a time, so they
    /// keep their order whichever threads produce them.
    /// </summary>
    /// <remarks>
    /// The transport's own counters (<see cref="FrameTransport.PendingWriteBytes"/>, <see cref="FrameTransport.BytesWritten"/>)
    /// are user code too: only the flusher reads them, outside the session lock, and the session sees the values it
    /// cached. Progress is the bytes handed to the transport plus the bytes it says it wrote.
    /// </remarks>
    private sealed class Outbox(FrameTransport transport, DeferringLock sessionLock, Action<Exception> onFailed) : FrameOutput, IDeferredWork
    {
        private readonly object _gate = new();
        private readonly Queue<Frame> _frames = new();
        private readonly IObserver<Frame> _outbound = transport.Outbound;
        private readonly List<(long Position, TaskCompletionSource Done)> _waiters = [];
        private long _queuedBytes;
        private long _flushedBytes;
        private long _transportPending; // cached by the flusher
        private long _transportWritten; // cached by the flusher
        private long _enqueued;
        private long _flushed;
        private (long Threshold, Action Callback)? _watch;
        private bool _flushing;
        private bool _completeQueued;
        private bool _stopped;

        public override void WriteLocked(in Frame frame)
        {
            lock (_gate)
            {
                if (_completeQueued || _stopped)
                {
                    return;
                }
                _frames.Enqueue(frame.WithOwnedPayload());
                _queuedBytes += frame.WireLength;
                _enqueued++;
            }
            sessionLock.Defer(this);
        }

        public override void CompleteLocked()
        {
            lock (_gate)
            {
                _completeQueued = true;
            }
            sessionLock.Defer(this);
        }

        public override long PendingBytes
        {
            get
            {
                lock (_gate)
                {
                    return _queuedBytes + _transportPending;
                }
            }
        }

        public override long BytesWritten
        {
            get
            {
                lock (_gate)
                {
                    return _flushedBytes + _transportWritten;
                }
            }
        }

        public override bool WatchSpaceLocked(long threshold, Action callback)
        {
            lock (_gate)
            {
                if (_stopped || _queuedBytes + _transportPending <= threshold)
                {
                    return false;
                }
                _watch = (threshold, callback);
            }
            // A flush (deferred) sees the watch; it may also be the transport's own queue that must drain.
            sessionLock.Defer(this);
            return true;
        }

        public override long PositionLocked
        {
            get
            {
                lock (_gate)
                {
                    return _enqueued;
                }
            }
        }

        public override async ValueTask WaitForWrittenAsync(long position)
        {
            TaskCompletionSource? done = null;
            lock (_gate)
            {
                if (_flushed < position && !_stopped)
                {
                    done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _waiters.Add((position, done));
                }
            }
            if (done is not null)
            {
                await done.Task.ConfigureAwait(false);
            }
            await transport.WaitForWriteSpaceAsync(0).ConfigureAwait(false);
        }

        /// <summary>Flushes, unless another thread is flushing already (it will take these frames too).</summary>
        public void Run()
        {
            lock (_gate)
            {
                if (_flushing)
                {
                    return;
                }
                _flushing = true;
            }
            while (true)
            {
                bool hasFrame;
                bool complete = false;
                Frame frame;
                List<TaskCompletionSource>? reached;
                Action? watchFired;
                lock (_gate)
                {
                    reached = TakeReachedLocked();
                    watchFired = TakeWatchLocked();
                    hasFrame = _frames.TryDequeue(out frame);
                    if (hasFrame)
                    {
                        _queuedBytes -= frame.WireLength;
                    }
                    else if (_completeQueued && !_stopped)
                    {
                        complete = true;
                        _stopped = true;
                    }
                    else
                    {
                        _flushing = false;
                    }
                }
                Release(reached);
                watchFired?.Invoke();
                if (!hasFrame && !complete)
                {
                    // Nothing left: if a watch waits on the transport's own queue, ask the transport (outside every lock).
                    WatchTransport();
                    return;
                }
                try
                {
                    if (complete)
                    {
                        _outbound.OnCompleted();
                    }
                    else
                    {
                        _outbound.OnNext(frame);
                    }
                }
                catch (Exception ex)
                {
                    Stop();
                    if (!complete)
                    {
                        onFailed(ex);
                    }
                    return;
                }
                long pending = transport.PendingWriteBytes;
                long written = transport.BytesWritten;
                lock (_gate)
                {
                    _flushed++;
                    _flushedBytes += complete ? 0 : frame.WireLength;
                    _transportPending = pending;
                    _transportWritten = written;
                }
            }
        }

        /// <summary>The outbox is empty but the transport's own queue is over a watch's threshold: wait for the transport.</summary>
        private void WatchTransport()
        {
            long threshold;
            lock (_gate)
            {
                if (_watch is not { } watch || _flushing)
                {
                    return;
                }
                threshold = watch.Threshold;
            }
            var space = transport.WaitForWriteSpaceAsync(threshold);
            if (space.IsCompleted)
            {
                Refresh();
                return;
            }
            _ = space.AsTask().ContinueWith(static (t, self) =>
            {
                _ = t.Exception; // a transport that fails its wait has closed: the session hears of that elsewhere
                ((Outbox)self!).Refresh();
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public override void RefreshCounters() => Refresh();

        /// <summary>Reads the transport's counters again and fires a watch they satisfy.</summary>
        private void Refresh()
        {
            long pending = transport.PendingWriteBytes;
            long written = transport.BytesWritten;
            Action? fired;
            lock (_gate)
            {
                _transportPending = pending;
                _transportWritten = written;
                fired = TakeWatchLocked();
            }
            fired?.Invoke();
        }

        private Action? TakeWatchLocked()
        {
            if (_watch is { } watch && (_stopped || _queuedBytes + _transportPending <= watch.Threshold))
            {
                _watch = null;
                return watch.Callback;
            }
            return null;
        }

        private void Stop()
        {
            List<TaskCompletionSource> all;
            Action? watch;
            lock (_gate)
            {
                _stopped = true;
                _flushing = false;
                _frames.Clear();
                _queuedBytes = 0;
                all = _waiters.ConvertAll(w => w.Done);
                _waiters.Clear();
                watch = TakeWatchLocked();
            }
            Release(all);
            watch?.Invoke();
        }

        private List<TaskCompletionSource>? TakeReachedLocked()
        {
            List<TaskCompletionSource>? reached = null;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Position <= _flushed || _stopped)
                {
                    (reached ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
            return reached;
        }

        private static void Release(List<TaskCompletionSource>? waiters)
        {
            if (waiters is null)
            {
                return;
            }
            foreach (var waiter in waiters)
            {
                waiter.TrySetResult();
            }
        }
    }
}
