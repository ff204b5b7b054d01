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
/// <para><b>Hand-off.</b> A step takes the next item under the owner's lock, in the same section where it checks that the
/// observer is still attached. From that instant the item is the observer's: it is delivered even if the observer
/// unsubscribes on another thread meanwhile (as Rx's own <c>ObserveOn</c> finishes a notification already running), and an
/// observer that left before the take gets nothing, the item staying queued for the next one. So an item is never lost
/// between the queue and the observer given to <c>Subscribe</c>, and never delivered twice. (What an Rx operator between
/// that observer and the user's code drops, a <c>Take</c> that is done, a <c>Switch</c> that moved on, the library cannot
/// see.) Unsubscribing never waits for a delivery.</para>
/// <para>The library's own operators that re-queue what they receive (the credit operators) attach with
/// <c>waitForDelivery</c>: their unsubscription then waits for a delivery that is running, so that nothing arrives after
/// they handed their queue back. Their <c>OnNext</c> only enqueues, so that wait is short and cannot deadlock.</para>
/// <para><b>Grammar.</b> One drain run at a time, so notifications are never concurrent; the terminal notification goes
/// through the same path after the last item, so nothing follows it.</para>
/// <para><b>Throwing observers.</b> An observer whose <c>OnNext</c> throws is detached (Rx forbids calling it again) and the
/// owner decides what happens to the item (a stream resets itself with InternalError); an exception from a terminal
/// notification is dropped, because the observer is done either way and on a scheduler thread it would end the process
/// for the peer's doing. The session goes on in both cases.</para>
/// <para>No lock is held while user code runs. Lock order, where a gate is used: gate, then the owner's lock.</para>
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
    public Attachment? Attach(IObserver<T> observer, string secondObserverMessage, bool waitForDelivery = false)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var attachment = new Attachment(this, observer, waitForDelivery ? new object() : null);
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
        if (attachment.Gate is not { } gate)
        {
            return Deliver(attachment);
        }
        lock (gate)
        {
            return Deliver(attachment);
        }
    }

    private bool Deliver(Attachment attachment)
    {
        Next<T> next;
        using (_lock.Enter())
        {
            if (!ReferenceEquals(_attached, attachment))
            {
                return true; // it left before the take; look again (another may have come)
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
        if (attachment.Gate is not { } gate)
        {
            DetachNow(attachment, thenLocked);
            return;
        }
        // A delivery running on another thread finishes before the observer counts as gone.
        lock (gate)
        {
            DetachNow(attachment, thenLocked);
        }
    }

    private void DetachNow(Attachment attachment, Action? thenLocked)
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

    /// <summary>A subscription to an <see cref="ObserverDrain{T}"/>.</summary>
    internal sealed class Attachment(ObserverDrain<T> owner, IObserver<T> observer, object? gate) : IDisposable
    {
        /// <summary>Held across a delivery, for attachments that wait for delivery; null otherwise.</summary>
        public object? Gate { get; } = gate;
        public IObserver<T> Observer { get; } = observer;
        public bool Detached { get; set; } // written under the owner's lock

        public void Dispose() => owner.Detach(this, null);

        /// <summary>
        /// Unsubscribes and runs <paramref name="thenLocked"/> under the owner's lock in the same section, before any other
        /// observer can attach (a credit operator gives back the chunks it still held, in order, this way).
        /// </summary>
        public void DetachThen(Action thenLocked) => owner.Detach(this, thenLocked);
    }
}
