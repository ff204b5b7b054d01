using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Runtime.CompilerServices;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    private readonly Queue<MuxStream> _backlog = new();
    private readonly Queue<TaskCompletionSource<MuxStream>> _acceptWaiters = new();
    private readonly List<IObserver<MuxStream>> _incomingObservers = [];
    private int _nextObserver;
    private bool _incomingDrainScheduled;

    /// <summary>
    /// The streams the peer opens. Each stream is delivered exactly once: to one subscriber (several
    /// subscribers take turns) or to one <see cref="AcceptAsync"/> caller. Streams that arrive while nobody
    /// listens wait in the accept backlog (<see cref="MuxSessionOptions.AcceptBacklog"/>). Completes when the
    /// session ends cleanly, fails with <see cref="MuxadoSessionException"/> otherwise.
    /// </summary>
    /// <remarks>Delivered on <see cref="MuxSessionOptions.Scheduler"/>, never on the transport's reader.</remarks>
    public IObservable<MuxStream> Incoming => Observable.Create<MuxStream>(observer =>
    {
        SessionEnd? endedAlready = null;
        lock (Gate)
        {
            if (_end is not null && _backlog.Count == 0)
            {
                endedAlready = _end;
            }
            else
            {
                _incomingObservers.Add(observer);
                ScheduleIncomingDrainLocked();
            }
        }
        if (endedAlready is not null)
        {
            NotifyEnd(observer, endedAlready);
            return Disposable.Empty;
        }
        return Disposable.Create(() =>
        {
            lock (Gate)
            {
                _incomingObservers.Remove(observer);
            }
        });
    });

    /// <summary>Waits for the next stream the peer opens.</summary>
    /// <exception cref="MuxadoSessionException">The session ended.</exception>
    public Task<MuxStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<MuxStream> waiter;
        lock (Gate)
        {
            if (_backlog.Count > 0 || _incomingDrainScheduled)
            {
                return Task.FromResult(TakeAcceptedLocked());
            }
            if (_end is not null)
            {
                return Task.FromException<MuxStream>(new MuxadoSessionException(_end));
            }
            waiter = new TaskCompletionSource<MuxStream>();
            _acceptWaiters.Enqueue(waiter);
        }
        if (!cancellationToken.CanBeCanceled)
        {
            return waiter.Task;
        }
        return WithCancellation(waiter, cancellationToken);
    }

    private async Task<MuxStream> WithCancellation(TaskCompletionSource<MuxStream> waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken)))
        {
            try
            {
                return await waiter.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // A stream handed to this waiter after the cancellation is given back by EnqueueAcceptedLocked.
                RemoveWaiter(waiter);
                throw;
            }
        }
    }

    /// <summary>
    /// Drops a cancelled waiter now rather than when the next stream arrives, so that an idle session polled
    /// with timed-out accepts does not collect them without bound.
    /// </summary>
    private void RemoveWaiter(TaskCompletionSource<MuxStream> waiter)
    {
        lock (Gate)
        {
            int count = _acceptWaiters.Count;
            for (int i = 0; i < count; i++)
            {
                var next = _acceptWaiters.Dequeue();
                if (!ReferenceEquals(next, waiter))
                {
                    _acceptWaiters.Enqueue(next);
                }
            }
        }
    }

    private void RequeueAccepted(MuxStream stream)
    {
        lock (Gate)
        {
            // Like a new arrival: the next accept already waiting gets it, else the backlog (and Incoming) does.
            EnqueueAcceptedLocked(stream);
        }
    }

    /// <summary>The streams the peer opens, as an async sequence; ends when the session ends cleanly.</summary>
    public async IAsyncEnumerable<MuxStream> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            MuxStream stream;
            try
            {
                stream = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (MuxadoSessionException ex) when (ex.End.IsClean)
            {
                yield break;
            }
            yield return stream;
        }
    }

    private void EnqueueAcceptedLocked(MuxStream stream)
    {
        while (_acceptWaiters.TryDequeue(out var waiter))
        {
            if (waiter.Task.IsCompleted)
            {
                continue; // cancelled
            }
            // Completed from the scheduler, outside the lock; a waiter cancelled meanwhile gives the stream back.
            Scheduler.Schedule(() =>
            {
                if (!waiter.TrySetResult(stream))
                {
                    RequeueAccepted(stream);
                }
            });
            return;
        }
        _backlog.Enqueue(stream);
        ScheduleIncomingDrainLocked();
    }

    /// <summary>
    /// A stream reset before anyone accepted it leaves the backlog: it is of no use to the application, and keeping
    /// it would let a peer fill the backlog with dead streams.
    /// </summary>
    internal void RemoveFromBacklogLocked(MuxStream stream)
    {
        if (_backlog.Count > 0 && _backlog.Contains(stream))
        {
            var kept = _backlog.Where(s => !ReferenceEquals(s, stream)).ToList();
            _backlog.Clear();
            foreach (var s in kept)
            {
                _backlog.Enqueue(s);
            }
        }
    }

    private MuxStream TakeAcceptedLocked()
    {
        return _backlog.Dequeue();
    }

    private void ScheduleIncomingDrainLocked()
    {
        if (_incomingDrainScheduled || _incomingObservers.Count == 0 || _backlog.Count == 0)
        {
            return;
        }
        _incomingDrainScheduled = true;
        Scheduler.Schedule(DrainIncoming);
    }

    private void DrainIncoming()
    {
        while (true)
        {
            IObserver<MuxStream> observer;
            MuxStream stream;
            lock (Gate)
            {
                if (_incomingObservers.Count == 0 || _backlog.Count == 0)
                {
                    _incomingDrainScheduled = false;
                    if (_end is not null && _backlog.Count == 0)
                    {
                        EndObserversLocked();
                    }
                    return;
                }
                stream = TakeAcceptedLocked();
                observer = _incomingObservers[_nextObserver++ % _incomingObservers.Count];
            }
            try
            {
                observer.OnNext(stream);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Contained like a throwing stream observer: the stream it was handed is reset, the session goes on.
                stream.Reset(ErrorCode.InternalError);
            }
        }
    }

    private void EndAccepting(SessionEnd end)
    {
        TaskCompletionSource<MuxStream>[] waiters;
        lock (Gate)
        {
            waiters = [.. _acceptWaiters];
            _acceptWaiters.Clear();
            if (_backlog.Count > 0)
            {
                // Streams that arrived before the end are still handed out (their readers see the session
                // error after their data); the drain ends the observers once the backlog is empty.
                ScheduleIncomingDrainLocked();
            }
            else
            {
                EndObserversLocked();
            }
        }
        var error = new MuxadoSessionException(end);
        foreach (var waiter in waiters)
        {
            // From the scheduler: an accept's continuation must not run inside End on the transport's reader.
            FailLater(waiter, error);
        }
    }

    private void EndObserversLocked()
    {
        if (_incomingObservers.Count == 0 || _end is null)
        {
            return;
        }
        var observers = _incomingObservers.ToArray();
        _incomingObservers.Clear();
        var end = _end;
        Scheduler.Schedule(() =>
        {
            foreach (var observer in observers)
            {
                NotifyEnd(observer, end);
            }
        });
    }

    private static void NotifyEnd(IObserver<MuxStream> observer, SessionEnd end)
    {
        try
        {
            observer.End(end.IsClean ? null : new MuxadoSessionException(end));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An observer without an error handler rethrows (Rx's default); on a scheduler thread that would
            // end the process for a peer's doing. The session is over either way.
        }
    }
}
