using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// A caller waiting for the session (for data, window, queue room, its turn to write, a stream to accept): completed
/// under the session lock, but its continuation only ever runs after the lock is released.
/// </summary>
/// <remarks>
/// <para>Two kinds. An <b>asynchronous</b> waiter is completed by a work item on the session's scheduler, and its
/// continuation runs inline in that work item: like every other delivery it happens on the session's scheduler, and on
/// a test scheduler exactly when the test advances the clock. A <b>blocking</b> waiter (a synchronous
/// <see cref="System.IO.Stream.Read(byte[], int, int)"/> on <see cref="MuxStream.AsStream"/>) is completed directly by the
/// thread that releases the lock, because the caller may be blocking the very thread the scheduler would need (an event
/// loop or a UI thread); its continuations are forced asynchronous, so none runs on the session's reader.</para>
/// <para>Completed at most once: the first of <see cref="CompleteLocked"/> and <see cref="FailLocked"/> wins.</para>
/// </remarks>
internal sealed class Waiter<T> : IDeferredWork
{
    private readonly TaskCompletionSource<T> _completion;
    private readonly IScheduler? _scheduler;
    private T _result = default!;
    private Exception? _error;
    private bool _settled;

    private Waiter(IScheduler? scheduler)
    {
        _scheduler = scheduler;
        _completion = new TaskCompletionSource<T>(scheduler is null ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    }

    /// <summary>A waiter for <paramref name="scheduler"/>, or a blocking one when <paramref name="blocking"/>.</summary>
    public static Waiter<T> Create(IScheduler scheduler, bool blocking) => new(blocking ? null : scheduler);

    /// <summary>Completes when the waiter is settled and its completion has run.</summary>
    public Task<T> Task => _completion.Task;

    /// <summary>True once completed, failed or abandoned under the lock (its task may not have completed yet).</summary>
    public bool IsSettled => _settled;

    /// <summary>The result it was completed with (default when it failed or was abandoned). Under the lock.</summary>
    public T ResultLocked => _result;

    /// <summary>Settles with <paramref name="result"/>; the task completes after the lock is released.</summary>
    public bool CompleteLocked(DeferringLock owner, T result)
    {
        if (_settled)
        {
            return false;
        }
        _settled = true;
        _result = result;
        owner.Defer(this);
        return true;
    }

    /// <summary>Settles with <paramref name="error"/>; the task fails after the lock is released.</summary>
    public bool FailLocked(DeferringLock owner, Exception error)
    {
        if (_settled)
        {
            return false;
        }
        _settled = true;
        _error = error;
        owner.Defer(this);
        return true;
    }

    /// <summary>Cancelled by its caller: nothing may settle it any more. False if it was settled first.</summary>
    public bool AbandonLocked()
    {
        if (_settled)
        {
            return false;
        }
        _settled = true;
        return true;
    }

    void IDeferredWork.Run()
    {
        if (_scheduler is null)
        {
            Finish();
        }
        else
        {
            _scheduler.Schedule(this, static (_, waiter) =>
            {
                waiter.Finish();
                return Disposable.Empty;
            });
        }
    }

    private void Finish()
    {
        if (_error is not null)
        {
            _completion.TrySetException(_error);
            // Observed here: the task belongs to the library, and a caller that stopped waiting for it (its wait was
            // cancelled) must not leave an unobserved exception behind. Whoever still awaits it gets the exception.
            _ = _completion.Task.Exception;
        }
        else
        {
            _completion.TrySetResult(_result);
        }
    }
}
