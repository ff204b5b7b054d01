using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// Items (accepted streams) waiting for a taker: either one observer, or callers of <see cref="TakeAsync"/> served in
/// order, never both at once, because two takers would each silently get part of the items.
/// </summary>
/// <remarks>
/// <para>Every hand-off is atomic: an item goes to a waiting caller (whose completion then runs on the scheduler), or to
/// the observer through an <see cref="ObserverDrain{T}"/>, or it stays queued. A caller that gives up just as an item
/// was handed to it puts the item back at the head; an observer that unsubscribes leaves what it was not handed.</para>
/// <para>All state is guarded by the owner's lock (the session's); the owner calls the <c>Locked</c> members under it.</para>
/// </remarks>
internal sealed class HandOffQueue<T> : ObserverDrain<T>
    where T : class
{
    private readonly DeferringLock _lock;
    private readonly IScheduler _scheduler;
    private readonly Queue<T> _items = new();
    private readonly Callbacks _callbacks;
    private Queue<Waiter<T>>? _waiters;
    private HashSet<T>? _givenBack; // handed out once already (then given back by a caller that gave up)
    private Exception? _endError;
    private Exception? _observerEndError;
    private bool _ended;

    public HandOffQueue(DeferringLock ownerLock, IScheduler scheduler, Callbacks callbacks)
        : base(ownerLock, scheduler)
    {
        _lock = ownerLock;
        _scheduler = scheduler;
        _callbacks = callbacks;
    }

    /// <summary>What the owner does at each step of an item's way.</summary>
    /// <param name="Taken">An item was handed to a taker. Under the lock.</param>
    /// <param name="ObserverFaulted">The observer threw from <c>OnNext</c> for the item (it is detached). No lock held.</param>
    /// <param name="ObserverConflict">Message for an observer refused because callers of TakeAsync wait.</param>
    /// <param name="CallerConflict">Message for a TakeAsync refused because an observer takes the items.</param>
    /// <param name="SecondObserver">Message for a second observer.</param>
    internal sealed record Callbacks(Action<T> Taken, Action<T> ObserverFaulted, string ObserverConflict, string CallerConflict, string SecondObserver);

    /// <summary>Items waiting for a taker. Under the lock.</summary>
    public int CountLocked => _items.Count;

    /// <summary>True when an observer is attached: every item is taken as soon as it can be delivered. Under the lock.</summary>
    public bool IsObservedLocked => HasObserverLocked;

    /// <summary>True when callers wait. Under the lock.</summary>
    public bool HasWaitersLocked
    {
        get
        {
            while (_waiters is not null && _waiters.TryPeek(out var head) && head.IsSettled)
            {
                _waiters.Dequeue();
            }
            return _waiters is { Count: > 0 };
        }
    }

    /// <summary>Hands <paramref name="item"/> to a waiting caller, or queues it for the observer or a later taker. Under the lock.</summary>
    public void EnqueueLocked(T item)
    {
        while (_waiters is { Count: > 0 })
        {
            if (_waiters.Dequeue().CompleteLocked(_lock, item))
            {
                TakenLocked(item);
                return;
            }
        }
        _items.Enqueue(item);
        if (HasObserverLocked)
        {
            SignalLocked();
        }
    }

    /// <summary>Callers waiting now. Under the lock.</summary>
    public int WaiterCountLocked => _waiters?.Count ?? 0;

    /// <summary>Reports an item taken, once: one that came back from a caller that gave up was reported already.</summary>
    private void TakenLocked(T item)
    {
        if (_givenBack is null || !_givenBack.Remove(item))
        {
            _callbacks.Taken(item);
        }
    }

    /// <summary>An item that was handed out and came back untaken: it goes first. Under the lock.</summary>
    private void GiveBackLocked(T item)
    {
        while (_waiters is { Count: > 0 })
        {
            if (_waiters.Dequeue().CompleteLocked(_lock, item))
            {
                return;
            }
        }
        (_givenBack ??= []).Add(item);
        Rebuild(front: item, without: null);
        if (HasObserverLocked)
        {
            SignalLocked();
        }
    }

    /// <summary>Removes the item that <paramref name="match"/> finds if it still waits (a stream reset before anyone took it). Under the lock.</summary>
    public void RemoveLocked(Func<T, bool> match)
    {
        if (_items.Count > 0 && _items.FirstOrDefault(match) is { } item)
        {
            Rebuild(front: null, without: item);
            _givenBack?.Remove(item);
        }
    }

    /// <summary>No more items will come: callers fail with <paramref name="error"/>, the observer ends after the queue
    /// (with <paramref name="observerError"/>, null for completion). Under the lock.</summary>
    public void EndLocked(Exception error, Exception? observerError)
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        _endError = error;
        if (_waiters is not null)
        {
            while (_waiters.TryDequeue(out var waiter))
            {
                waiter.FailLocked(_lock, error);
            }
        }
        _observerEndError = observerError;
        if (HasObserverLocked)
        {
            SignalLocked();
        }
    }

    /// <summary>The next item, waiting for one if none is queued.</summary>
    public Task<T> TakeAsync(CancellationToken cancellationToken)
    {
        Waiter<T> waiter;
        using (_lock.Enter())
        {
            if (HasObserverLocked)
            {
                return Task.FromException<T>(new InvalidOperationException(_callbacks.CallerConflict));
            }
            if (_items.TryDequeue(out var ready))
            {
                TakenLocked(ready);
                return Task.FromResult(ready);
            }
            if (_ended)
            {
                return Task.FromException<T>(_endError!);
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<T>(cancellationToken);
            }
            waiter = Waiter<T>.Create(_scheduler, blocking: false);
            (_waiters ??= new()).Enqueue(waiter);
        }
        return WaitAsync(waiter, cancellationToken);
    }

    /// <summary>The items as an observable for one subscriber at a time.</summary>
    public IObservable<T> AsObservable() => new ItemsObservable(this);

    private async Task<T> WaitAsync(Waiter<T> waiter, CancellationToken cancellationToken)
    {
        try
        {
            return await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            using (_lock.Enter())
            {
                if (waiter.AbandonLocked())
                {
                    // Gone at once rather than when the next item arrives: an idle session polled with timed-out
                    // accepts must not collect them.
                    RemoveWaiter(waiter);
                }
                else if (waiter.ResultLocked is { } handed)
                {
                    // Handed to this caller just as it gave up: to the next caller waiting, else back to the head of
                    // the queue for the next taker.
                    GiveBackLocked(handed);
                }
            }
            throw;
        }
    }

    protected override string? RefuseLocked() => HasWaitersLocked ? _callbacks.ObserverConflict : null;

    protected override Next<T> TakeLocked()
    {
        if (_items.TryDequeue(out var item))
        {
            TakenLocked(item);
            return Next<T>.Of(item);
        }
        return _ended ? Next<T>.End(_observerEndError) : Next<T>.Nothing;
    }

    protected override void OnObserverFaulted(T item, Exception error) => _callbacks.ObserverFaulted(item);

    private void RemoveWaiter(Waiter<T> waiter)
    {
        if (_waiters is not { } waiters)
        {
            return;
        }
        var kept = waiters.Where(w => !ReferenceEquals(w, waiter)).ToList();
        waiters.Clear();
        foreach (var w in kept)
        {
            waiters.Enqueue(w);
        }
    }

    private void Rebuild(T? front, T? without)
    {
        var kept = _items.Where(i => !ReferenceEquals(i, without)).ToList();
        _items.Clear();
        if (front is not null)
        {
            _items.Enqueue(front);
        }
        foreach (var i in kept)
        {
            _items.Enqueue(i);
        }
    }

    private sealed class ItemsObservable(HandOffQueue<T> queue) : IObservable<T>
    {
        public IDisposable Subscribe(IObserver<T> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            return (IDisposable?)queue.Attach(observer, queue._callbacks.SecondObserver) ?? Disposable.Empty;
        }
    }
}
