namespace Muxado.Reactive.Concurrency;

/// <summary>Work that must run after every <see cref="DeferringLock"/> is released, never inside one.</summary>
internal interface IDeferredWork
{
    /// <summary>Runs outside every deferring lock, on the thread that released the last one it held.</summary>
    void Run();
}

/// <summary>
/// A lock that collects the work its holder must not do while holding it (schedule on a user's scheduler, complete a
/// waiter, call a user's transport) and runs that work on the releasing thread once it holds no such lock any more.
/// </summary>
/// <remarks>
/// <para>This is how the session keeps its rule that no user code runs under its lock: a scheduler is user code too (an
/// <c>ImmediateScheduler</c> or a dispatcher would run work inline), so even <c>IScheduler.Schedule</c> is deferred.</para>
/// <para>The deferred work belongs to the thread, not to one lock: a section of one deferring lock nested in another's
/// (the session writing to the in-memory transport, whose channel has a lock of its own) leaves its work to the
/// outermost section, so nothing runs while any of them is held. The list is swapped out before it runs, so work deferred
/// by the work itself goes into a fresh list that runs next, and two threads never run the same item.</para>
/// </remarks>
internal sealed class DeferringLock
{
    [ThreadStatic]
    private static int t_depth;

    [ThreadStatic]
    private static List<IDeferredWork>? t_work;

    [ThreadStatic]
    private static List<IDeferredWork>? t_spare;

    private readonly object _gate = new();

    /// <summary>Takes the lock; dispose the scope (a <c>using</c>) to release it and run the deferred work.</summary>
    public Scope Enter()
    {
        Monitor.Enter(_gate);
        t_depth++;
        return new Scope(this);
    }

    /// <summary>True when the calling thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_gate);

    /// <summary>Queues <paramref name="work"/> to run when the thread holds no deferring lock. Call only while holding this one.</summary>
    public void Defer(IDeferredWork work)
    {
        System.Diagnostics.Debug.Assert(IsHeldByCurrentThread, "Defer is called under the lock");
        (t_work ??= t_spare ?? []).Add(work);
        t_spare = null;
    }

    private void Exit()
    {
        Monitor.Exit(_gate);
        if (--t_depth != 0)
        {
            return;
        }
        // Every item runs even if one throws (a scheduler that was disposed, say): the others are unrelated streams.
        Exception? first = null;
        while (t_work is { Count: > 0 } work)
        {
            t_work = null;
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
            t_spare = work;
        }
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
