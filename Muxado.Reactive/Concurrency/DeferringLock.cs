namespace Muxado.Reactive.Concurrency;

/// <summary>Work that must run after a <see cref="DeferringLock"/> is released, never inside it.</summary>
internal interface IDeferredWork
{
    /// <summary>Runs outside the lock, on the thread that released it.</summary>
    void Run();
}

/// <summary>
/// A lock that collects the work its holder must not do while holding it (schedule on a user's scheduler, complete a
/// waiter, call a user's transport) and runs that work on the releasing thread once the lock is free.
/// </summary>
/// <remarks>
/// <para>This is how the session keeps its rule that no user code runs under its lock: a scheduler is user code too (an
/// <c>ImmediateScheduler</c> or a dispatcher would run work inline), so even <c>IScheduler.Schedule</c> is deferred.</para>
/// <para>Re-entrant: work deferred by a nested section runs when the outermost section ends. The work list is swapped
/// out under the lock and run after <see cref="Monitor.Exit(object)"/>, so two threads never run the same item, and an item
/// deferred while the list runs goes into a fresh list that its own section runs.</para>
/// </remarks>
internal sealed class DeferringLock
{
    private readonly object _gate = new();
    private List<IDeferredWork>? _deferred;
    private List<IDeferredWork>? _spare;
    private int _depth;

    /// <summary>Takes the lock; dispose the scope (a <c>using</c>) to release it and run the deferred work.</summary>
    public Scope Enter()
    {
        Monitor.Enter(_gate);
        _depth++;
        return new Scope(this);
    }

    /// <summary>True when the calling thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_gate);

    /// <summary>Queues <paramref name="work"/> to run when the lock is released. Call only while holding it.</summary>
    public void Defer(IDeferredWork work)
    {
        System.Diagnostics.Debug.Assert(IsHeldByCurrentThread, "Defer is called under the lock");
        (_deferred ??= Interlocked.Exchange(ref _spare, null) ?? []).Add(work);
    }

    private void Exit()
    {
        List<IDeferredWork>? work = null;
        if (--_depth == 0)
        {
            work = _deferred;
            _deferred = null;
        }
        Monitor.Exit(_gate);
        if (work is null)
        {
            return;
        }
        // Every item runs even if one throws (a scheduler that was disposed, say): the others are unrelated streams.
        Exception? first = null;
        foreach (var item in work)
        {
            try
            {
                item.Run();
            }
            catch (Exception ex)
            {
                first ??= ex;
            }
        }
        work.Clear();
        Interlocked.CompareExchange(ref _spare, work, null);
        if (first is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }

    /// <summary>A held lock; disposing it releases the lock and runs what was deferred.</summary>
    public readonly struct Scope(DeferringLock owner) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => owner.Exit();
    }
}
