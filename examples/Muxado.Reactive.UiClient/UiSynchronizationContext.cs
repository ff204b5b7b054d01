using System.Collections.Concurrent;

namespace Muxado.Reactive.UiClient;

/// <summary>
/// Stands in for a UI framework's dispatcher: one thread, the one that calls <see cref="Run{T}"/>, runs every callback
/// posted to it, one at a time and in order, as WPF's Dispatcher or a WinForms message loop does.
/// </summary>
/// <remarks>
/// A real app does not write this: it hands Rx the scheduler of its UI thread. WPF: <c>DispatcherScheduler.Current</c>
/// (System.Reactive on a <c>-windows</c> target) or <c>ObserveOnDispatcher()</c>; WinForms: <c>new ControlScheduler(form)</c>;
/// MAUI, Avalonia and the rest: <c>new SynchronizationContextScheduler(SynchronizationContext.Current!)</c> captured on
/// the UI thread, which is what this program does with its own context. An <c>EventLoopScheduler</c> gives the same
/// one-thread guarantee without a context (a game loop, a service's actor thread), but awaits do not come back to it.
/// </remarks>
public sealed class UiSynchronizationContext : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();

    private UiSynchronizationContext(int threadId) => ThreadId = threadId;

    /// <summary>The managed id of the UI thread.</summary>
    public int ThreadId { get; }

    /// <summary>Queues <paramref name="d"/> for the UI thread. After the app has ended nothing runs any more (a closed window's dispatcher).</summary>
    public override void Post(SendOrPostCallback d, object? state)
    {
        try
        {
            _queue.Add((d, state));
        }
        catch (InvalidOperationException)
        {
            // Posted after the pump stopped: dropped, as a shut-down dispatcher drops it.
        }
    }

    /// <summary>Runs <paramref name="d"/> on the UI thread and waits for it, as Dispatcher.Invoke does.</summary>
    public override void Send(SendOrPostCallback d, object? state)
    {
        if (Environment.CurrentManagedThreadId == ThreadId)
        {
            d(state);
            return;
        }
        using var done = new ManualResetEventSlim();
        Exception? error = null;
        Post(_ =>
        {
            try
            {
                d(state);
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                done.Set();
            }
        }, null);
        done.Wait();
        if (error is not null)
        {
            throw new InvalidOperationException("a callback sent to the UI thread failed", error);
        }
    }

    /// <summary>One context per UI thread: copies are the same context.</summary>
    public override SynchronizationContext CreateCopy() => this;

    /// <summary>
    /// Makes the calling thread the UI thread: starts <paramref name="app"/> on it and runs what is posted until the
    /// app's task completes (Application.Run). Every <c>await</c> in the app comes back to this thread.
    /// </summary>
    public static T Run<T>(Func<UiSynchronizationContext, Task<T>> app)
    {
        var context = new UiSynchronizationContext(Environment.CurrentManagedThreadId);
        var previous = Current;
        SetSynchronizationContext(context);
        try
        {
            var running = app(context);
            running.ContinueWith(_ => context._queue.CompleteAdding(), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            foreach (var (callback, state) in context._queue.GetConsumingEnumerable())
            {
                callback(state);
            }
            return running.GetAwaiter().GetResult();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }
}
