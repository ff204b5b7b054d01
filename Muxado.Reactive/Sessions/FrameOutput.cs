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

    /// <summary>Bytes written here and not yet on the wire, as far as the output knows.</summary>
    public abstract long PendingBytes { get; }

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

        public override long PositionLocked => transport.BytesEnqueued;

        public override ValueTask WaitForWrittenAsync(long position) => transport.WaitForWrittenAsync(position);
    }

    /// <summary>
    /// Frames for a user's transport: copied (the caller's buffer may be reused as soon as its write returns), queued
    /// under the session lock, and handed to the transport after the lock is released by one flusher at a time, so they
    /// keep their order whichever threads produce them.
    /// </summary>
    private sealed class Outbox(FrameTransport transport, DeferringLock sessionLock, Action<Exception> onFailed) : FrameOutput, IDeferredWork
    {
        private readonly object _gate = new();
        private readonly Queue<Frame> _frames = new();
        private readonly IObserver<Frame> _outbound = transport.Outbound;
        private readonly List<(long Position, TaskCompletionSource Done)> _waiters = [];
        private long _queuedBytes;
        private long _enqueued;
        private long _flushed;
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
                    return _queuedBytes + transport.PendingWriteBytes;
                }
            }
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
                Frame frame = default;
                bool complete = false;
                List<TaskCompletionSource>? reached = null;
                lock (_gate)
                {
                    reached = TakeReachedLocked();
                    if (_frames.TryDequeue(out frame))
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
                        Release(reached);
                        return;
                    }
                }
                Release(reached);
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
                lock (_gate)
                {
                    _flushed++;
                }
            }
        }

        private void Stop()
        {
            List<TaskCompletionSource> all;
            lock (_gate)
            {
                _stopped = true;
                _flushing = false;
                _frames.Clear();
                _queuedBytes = 0;
                all = _waiters.ConvertAll(w => w.Done);
                _waiters.Clear();
            }
            Release(all);
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
