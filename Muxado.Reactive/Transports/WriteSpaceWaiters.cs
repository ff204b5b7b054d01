namespace Muxado.Reactive.Transports;

/// <summary>
/// Those waiting for a transport's write queue: for it to shrink (<see cref="FrameTransport.WaitForWriteSpaceAsync"/>),
/// or for the bytes up to a position to be written (a GOAWAY that must reach the wire).
/// </summary>
/// <remarks>
/// The queue's counters are read through <see cref="IWriteQueueCounters"/> under this object's lock, both when a waiter registers
/// and when the owner notifies after the queue moved, so a change between "check" and "register" cannot be missed.
/// Task waiters are completed outside the lock with continuations forced asynchronous, so a caller's code never runs
/// inside the transport's writer or delivery loop. Callbacks (<see cref="Watch"/>) are the library's own code and run
/// synchronously on the notifying thread, outside the lock, so that a session on a test scheduler hears of queue space
/// inside the virtual-time step that made it. Nothing is allocated while nobody waits.
/// </remarks>
internal sealed class WriteSpaceWaiters(IWriteQueueCounters queue)
{
    private readonly object _gate = new();
    private List<Waiter>? _waiters;
    private bool _released;

    /// <summary>Completes when the queue holds at most <paramref name="threshold"/> bytes, or after <see cref="ReleaseAll"/>.</summary>
    public ValueTask WaitAsync(long threshold, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        return Register(new Waiter(threshold, position: -1, callback: null), cancellationToken);
    }

    /// <summary>Completes once <paramref name="position"/> bytes in all have been written, or after <see cref="ReleaseAll"/>.</summary>
    public ValueTask WaitForWrittenAsync(long position) => Register(new Waiter(-1, position, callback: null), CancellationToken.None);

    /// <summary>
    /// Calls <paramref name="callback"/> once, synchronously, when the queue holds at most <paramref name="threshold"/>
    /// bytes or the transport closed. Returns false (and never calls) when that is already so.
    /// </summary>
    public bool Watch(long threshold, Action callback)
    {
        lock (_gate)
        {
            if (_released || queue.PendingBytes <= threshold)
            {
                return false;
            }
            (_waiters ??= []).Add(new Waiter(threshold, -1, callback));
            return true;
        }
    }

    /// <summary>Completes the waiters whose condition now holds; call after the queue shrank.</summary>
    public void Notify()
    {
        List<Waiter>? ready = null;
        lock (_gate)
        {
            if (_waiters is not { Count: > 0 })
            {
                return;
            }
            long pending = queue.PendingBytes;
            long written = queue.BytesWritten;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].IsSatisfied(pending, written))
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

    private ValueTask Register(Waiter waiter, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        lock (_gate)
        {
            if (_released || waiter.IsSatisfied(queue.PendingBytes, queue.BytesWritten))
            {
                return default;
            }
            (_waiters ??= []).Add(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) =>
            {
                var (self, w) = ((WriteSpaceWaiters, Waiter))state!;
                self.Remove(w);
                w.Completion!.TrySetCanceled(token);
            }, (this, waiter));
        }
        return new ValueTask(waiter.Completion!.Task);
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
            if (waiter.Callback is { } callback)
            {
                callback();
                continue;
            }
            waiter.Registration.Dispose();
            waiter.Completion!.TrySetResult();
        }
    }

    private sealed class Waiter(long threshold, long position, Action? callback)
    {
        public Action? Callback { get; } = callback;
        public TaskCompletionSource? Completion { get; } = callback is null ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        public CancellationTokenRegistration Registration { get; set; }

        public bool IsSatisfied(long pending, long written) => position >= 0 ? written >= position : pending <= threshold;
    }
}

/// <summary>The counters of a write queue that <see cref="WriteSpaceWaiters"/> watches; safe to read on any thread.</summary>
internal interface IWriteQueueCounters
{
    /// <summary>Bytes queued and not yet written.</summary>
    long PendingBytes { get; }

    /// <summary>Bytes written (taken off the queue) since the start.</summary>
    long BytesWritten { get; }
}
