namespace Muxado.Reactive.Transports;

/// <summary>
/// The callers of <see cref="FrameTransport.WaitForWriteSpaceAsync"/> waiting for a write queue to shrink.
/// </summary>
/// <remarks>
/// The queue's size is read through <c>pendingBytes</c> under this object's lock, both when a waiter registers
/// and when the owner notifies after the size dropped, so a drop that happens between "check" and "register"
/// cannot be missed. Waiters are completed outside the lock with continuations forced asynchronous, so a
/// waiter's code never runs inside the transport's writer or delivery loop. Nothing is allocated while nobody waits.
/// </remarks>
internal sealed class WriteSpaceWaiters(Func<long> pendingBytes)
{
    private readonly object _gate = new();
    private List<Waiter>? _waiters;
    private bool _released;

    /// <summary>Completes when the queue holds at most <paramref name="threshold"/> bytes, or after <see cref="ReleaseAll"/>.</summary>
    public ValueTask WaitAsync(long threshold, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        Waiter waiter;
        lock (_gate)
        {
            if (_released || pendingBytes() <= threshold)
            {
                return default;
            }
            waiter = new Waiter(threshold);
            (_waiters ??= []).Add(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (self, w) = ((WriteSpaceWaiters, Waiter))state!;
                self.Remove(w);
                w.Completion.TrySetCanceled(token);
            }, (this, waiter));
        }
        return new ValueTask(waiter.Completion.Task);
    }

    /// <summary>Completes the waiters whose threshold the queue now satisfies; call after the queue shrank.</summary>
    public void Notify()
    {
        List<Waiter>? ready = null;
        lock (_gate)
        {
            if (_waiters is not { Count: > 0 })
            {
                return;
            }
            long pending = pendingBytes();
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Threshold >= pending)
                {
                    (ready ??= []).Add(_waiters[i]);
                    _waiters.RemoveAt(i);
                }
            }
        }
        Complete(ready);
    }

    /// <summary>The transport closed: completes every waiter, now and in the future.</summary>
    public void ReleaseAll()
    {
        List<Waiter>? all;
        lock (_gate)
        {
            _released = true;
            all = _waiters;
            _waiters = null;
        }
        Complete(all);
    }

    private void Remove(Waiter waiter)
    {
        lock (_gate)
        {
            _waiters?.Remove(waiter);
        }
    }

    private static void Complete(List<Waiter>? waiters)
    {
        if (waiters is null)
        {
            return;
        }
        foreach (var waiter in waiters)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetResult();
        }
    }

    private sealed class Waiter(long threshold)
    {
        public long Threshold { get; } = threshold;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
    }
}
