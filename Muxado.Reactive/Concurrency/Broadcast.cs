using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// A hot sequence for any number of watchers (stream events, heartbeat events): what is published goes to every current
/// subscriber, each through its own <see cref="ObserverDrain{T}"/> on the scheduler, so a slow or blocking watcher
/// delays only itself and no watcher's code runs where the event was published (under the owner's lock, or on the
/// transport's reader).
/// </summary>
/// <remarks>
/// A watcher's queue holds what it has not been handed yet; a watcher that falls behind keeps that in memory. A
/// subscriber that comes after the end gets the end at once. Guarded by the owner's lock: call the <c>Locked</c> members
/// under it.
/// </remarks>
internal sealed class Broadcast<T>(DeferringLock ownerLock, IScheduler scheduler) : IObservable<T>
{
    private List<Feed>? _feeds;
    private bool _ended;
    private Exception? _error;

    /// <summary>True while someone watches: callers skip building events nobody would see. Under the lock.</summary>
    public bool IsWatchedLocked => _feeds is { Count: > 0 };

    /// <summary>Hands <paramref name="item"/> to every current watcher. Under the lock.</summary>
    public void PublishLocked(T item)
    {
        if (_ended || _feeds is null)
        {
            return;
        }
        foreach (var feed in _feeds)
        {
            feed.PublishLocked(item);
        }
    }

    /// <summary>Ends the sequence for every watcher, now and later: completion when <paramref name="error"/> is null. Under the lock.</summary>
    public void EndLocked(Exception? error)
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        _error = error;
        if (_feeds is not null)
        {
            foreach (var feed in _feeds)
            {
                feed.EndLocked(error);
            }
            _feeds = null;
        }
    }

    /// <inheritdoc />
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var feed = new Feed(this, ownerLock, scheduler);
        using (ownerLock.Enter())
        {
            if (_ended)
            {
                feed.EndLocked(_error);
            }
            else
            {
                (_feeds ??= []).Add(feed);
            }
        }
        return (IDisposable?)feed.Attach(observer, "unreachable: a new feed has no observer") ?? Disposable.Empty;
    }

    /// <summary>One watcher's queue.</summary>
    private sealed class Feed(Broadcast<T> owner, DeferringLock ownerLock, IScheduler scheduler) : ObserverDrain<T>(ownerLock, scheduler)
    {
        private readonly Queue<T> _items = new();
        private bool _ended;
        private Exception? _error;

        public void PublishLocked(T item)
        {
            _items.Enqueue(item);
            SignalLocked();
        }

        public void EndLocked(Exception? error)
        {
            _ended = true;
            _error = error;
            SignalLocked();
        }

        protected override Next<T> TakeLocked() =>
            _items.TryDequeue(out var item) ? Next<T>.Of(item)
            : _ended ? Next<T>.End(_error)
            : Next<T>.Nothing;

        // A watcher that throws is detached and hears nothing more; it watched, so it owns nothing to reset.
        protected override void OnObserverFaulted(T item, Exception error)
        {
        }

        protected override void OnDetachedLocked()
        {
            _items.Clear();
            owner._feeds?.Remove(this);
        }
    }
}
