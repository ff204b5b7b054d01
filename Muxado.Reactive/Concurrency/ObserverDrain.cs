using System.Reactive.Concurrency;

namespace Muxado.Reactive.Concurrency;

/// <summary>What an <see cref="ObserverDrain{T}"/>'s owner hands out next.</summary>
internal readonly struct Next<T>
{
    private Next(bool isItem, bool isEnd, T item, Exception? error)
    {
        IsItem = isItem;
        IsEnd = isEnd;
        Item = item;
        Error = error;
    }

    public bool IsItem { get; }
    public bool IsEnd { get; }
    public T Item { get; }
    public Exception? Error { get; }

    public static Next<T> Nothing => default;
    public static Next<T> Of(T item) => new(true, false, item, null);
    public static Next<T> End(Exception? error) => new(false, true, default!, error);
}

/// <summary>
/// Delivers the items of a queue kept by its owner to one observer at a time, through a <see cref="SerialDrain"/>:
/// the serial-drain mechanism with its hand-off and its policy for throwing observers, which every delivery path uses.
/// </summary>
/// <remarks>
/// <para><b>Hand-off.</b> Each attached observer has a delivery gate. A step holds the gate while it takes an item from
/// the owner (under the owner's lock) and while the observer's <c>OnNext</c> runs; unsubscribing takes the same gate.
/// So an item is either taken and delivered to an observer that was attached at that instant, or it stays in the owner's
/// queue for the next one: never both, never neither, whatever thread unsubscribes. The price: disposing a subscription
/// from another thread waits for an <c>OnNext</c> already running to return (disposing from inside it does not wait). A
/// subscriber must therefore not dispose its subscription from a thread that its own <c>OnNext</c> is waiting for.</para>
/// <para><b>Grammar.</b> One drain run at a time, so notifications are never concurrent; the terminal notification goes
/// through the same path after the last item, so nothing follows it.</para>
/// <para><b>Throwing observers.</b> An observer whose <c>OnNext</c> throws is detached (Rx forbids calling it again) and the
/// owner decides what happens to the item (a stream resets itself with InternalError); an exception from a terminal
/// notification is dropped, because the observer is done either way and on a scheduler thread it would end the process
/// for the peer's doing. The session goes on in both cases.</para>
/// <para>No locks are held while user code runs other than the observer's own delivery gate. Lock order is gate, then
/// the owner's lock; the owner's lock is never held while a gate is taken.</para>
/// </remarks>
internal abstract class ObserverDrain<T>
{
    private readonly DeferringLock _lock;
    private readonly SerialDrain _drain;
    private Attachment? _attached; // guarded by _lock

    protected ObserverDrain(DeferringLock ownerLock, IScheduler scheduler)
    {
        _lock = ownerLock;
        _drain = new SerialDrain(scheduler, Step);
    }

    /// <summary>True while an observer is attached. Under the owner's lock.</summary>
    protected bool HasObserverLocked => _attached is not null;

    /// <summary>
    /// Attaches <paramref name="observer"/>. A second observer while one is attached gets <c>OnError</c> at once (and null
    /// is returned): two readers of one queue would each see half of it.
    /// </summary>
    public Attachment? Attach(IObserver<T> observer, string secondObserverMessage)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var attachment = new Attachment(this, observer);
        string? refusal;
        using (_lock.Enter())
        {
            refusal = _attached is null ? RefuseLocked() : secondObserverMessage;
            if (refusal is null)
            {
                _attached = attachment;
                SignalLocked();
                return attachment;
            }
        }
        observer.OnError(new InvalidOperationException(refusal));
        return null;
    }

    /// <summary>Under the owner's lock: why a new observer may not attach now, or null.</summary>
    protected virtual string? RefuseLocked() => null;

    /// <summary>Wakes the drain once the owner's lock is released. Under the owner's lock.</summary>
    protected void SignalLocked() => _lock.Defer(_drain);

    /// <summary>Under the owner's lock: the next item for the attached observer, its end, or nothing for now.</summary>
    protected abstract Next<T> TakeLocked();

    /// <summary>After <paramref name="observer"/>'s <c>OnNext</c> for <paramref name="item"/> returned; no lock held.</summary>
    protected virtual void OnDelivered(IObserver<T> observer, T item)
    {
    }

    /// <summary>The observer threw from <c>OnNext</c> for <paramref name="item"/> and is detached; no lock held.</summary>
    protected abstract void OnObserverFaulted(T item, Exception error);

    /// <summary>The observer left (unsubscribed, ended or faulted). Under the owner's lock.</summary>
    protected virtual void OnDetachedLocked()
    {
    }

    private bool Step()
    {
        Attachment? attachment;
        using (_lock.Enter())
        {
            attachment = _attached;
        }
        if (attachment is null)
        {
            return false;
        }
        Next<T> next;
        lock (attachment.Gate)
        {
            using (_lock.Enter())
            {
                if (!ReferenceEquals(_attached, attachment))
                {
                    return true; // it left before we held its gate; look again (another may have come)
                }
                next = TakeLocked();
                if (next.IsEnd)
                {
                    DetachLocked(attachment);
                }
            }
            if (next.IsEnd)
            {
                try
                {
                    attachment.Observer.End(next.Error);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // See the remarks: a terminal notification that throws is dropped.
                }
                return true;
            }
            if (!next.IsItem)
            {
                return false;
            }
            try
            {
                attachment.Observer.OnNext(next.Item);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                using (_lock.Enter())
                {
                    if (ReferenceEquals(_attached, attachment))
                    {
                        DetachLocked(attachment);
                    }
                    attachment.Detached = true;
                }
                OnObserverFaulted(next.Item, ex);
                return true;
            }
        }
        OnDelivered(attachment.Observer, next.Item);
        return true;
    }

    private void DetachLocked(Attachment attachment)
    {
        attachment.Detached = true;
        _attached = null;
        OnDetachedLocked();
    }

    private void Detach(Attachment attachment, Action? thenLocked)
    {
        // The gate first: an OnNext running on another thread finishes before the observer counts as gone.
        lock (attachment.Gate)
        {
            using (_lock.Enter())
            {
                if (!attachment.Detached)
                {
                    DetachLocked(attachment);
                }
                // In the same locked section, so that no other observer can come in between (see DetachThen).
                thenLocked?.Invoke();
                // Whatever waited for this observer may now go to the next one.
                SignalLocked();
            }
        }
    }

    /// <summary>A subscription to an <see cref="ObserverDrain{T}"/>.</summary>
    internal sealed class Attachment(ObserverDrain<T> owner, IObserver<T> observer) : IDisposable
    {
        public object Gate { get; } = new();
        public IObserver<T> Observer { get; } = observer;
        public bool Detached { get; set; } // written under the gate and the owner's lock

        public void Dispose() => owner.Detach(this, null);

        /// <summary>
        /// Unsubscribes and runs <paramref name="thenLocked"/> under the owner's lock in the same section, before any other
        /// observer can attach (a credit operator gives back the chunks it still held, in order, this way).
        /// </summary>
        public void DetachThen(Action thenLocked) => owner.Detach(this, thenLocked);
    }
}
