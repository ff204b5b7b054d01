using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Puts a user's code on a test scheduler: session options, in-memory transports and async code that all run in
/// the scheduler's virtual time.
/// </summary>
/// <remarks>
/// <para>A session uses one scheduler for everything time-related: <see cref="MuxSessionOptions.Scheduler"/> runs its
/// deliveries, the GOAWAY linger, the write timeout and the reply budget, and a <see cref="Heartbeat"/> started on
/// the session takes its timers from there too. The in-memory transport pair delivers frames on the scheduler it
/// is given. Give all of them the same <see cref="TestScheduler"/> (<see cref="SessionOptions"/>,
/// <see cref="CreateInMemoryPair"/>), and the application's own timers (an <c>Observable.Timer</c>, a
/// <c>Timeout</c>) the same scheduler, and nothing happens until the test runs it.</para>
/// <para>Code that awaits must be started outside any <see cref="SynchronizationContext"/>: a test framework's
/// context (NUnit installs one) would receive the continuations and run them only when the test method itself
/// awaits, so the code would stall while the scheduler runs. Start such code with
/// <see cref="Start(BoundedTestScheduler, Func{Task})"/> or <see cref="Run(BoundedTestScheduler, Func{Task}, int?, TimeSpan?)"/>, subscribe to
/// observables that it backs with <see cref="Record{T}"/>, or from inside a scheduled work item (the scheduler's
/// runs remove the context); its continuations then run inside the virtual-time step that completes what it
/// awaits.</para>
/// </remarks>
public static class VirtualTime
{
    /// <summary><paramref name="options"/> (default <see cref="MuxSessionOptions.Default"/>) with <paramref name="scheduler"/> as the session's scheduler.</summary>
    public static MuxSessionOptions SessionOptions(this TestScheduler scheduler, MuxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return (options ?? MuxSessionOptions.Default) with { Scheduler = scheduler };
    }

    /// <summary>Two in-memory transports back to back that deliver frames on <paramref name="scheduler"/>.</summary>
    /// <param name="scheduler">The test scheduler.</param>
    /// <param name="limits">Reader limits applied on receipt (default <see cref="FrameReaderLimits.Default"/>; pass
    /// <see cref="MuxSessionOptions.ReaderLimits"/> for a window above 256 KiB).</param>
    public static (FrameTransport Left, FrameTransport Right) CreateInMemoryPair(this TestScheduler scheduler, FrameReaderLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return FrameTransport.CreateInMemoryPair(scheduler, limits);
    }

    /// <summary>
    /// Subscribes a recording observer to <paramref name="source"/> now, without a synchronization context, so that
    /// async code the subscription starts (an <c>Observable.Create</c> with an async body) continues in virtual time.
    /// </summary>
    /// <returns>The observer; its messages are stamped with the scheduler's clock.</returns>
    public static ITestableObserver<T> Record<T>(this TestScheduler scheduler, IObservable<T> source)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(source);
        var observer = scheduler.CreateObserver<T>();
        WithoutContext(() => source.Subscribe(observer));
        return observer;
    }

    /// <summary>
    /// Starts <paramref name="code"/> without a synchronization context, so that its continuations run in virtual
    /// time; it runs up to its first wait that the scheduler must complete.
    /// </summary>
    /// <returns>The code's task; run the scheduler to move it on (<see cref="BoundedTestScheduler.RunUntilCompleted(Task, int?, TimeSpan?)"/>).</returns>
    public static Task Start(this BoundedTestScheduler scheduler, Func<Task> code)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(code);
        return WithoutContext(code);
    }

    /// <summary>Starts <paramref name="code"/> in virtual time (see <see cref="Start(BoundedTestScheduler, Func{Task})"/>).</summary>
    public static Task<T> Start<T>(this BoundedTestScheduler scheduler, Func<Task<T>> code)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(code);
        return WithoutContext(code);
    }

    /// <summary>Runs <paramref name="code"/> in virtual time to its end, driving the scheduler as long as it waits.</summary>
    /// <exception cref="TestFailureException">The code still waits when the scheduler has nothing left to run, or a
    /// run exceeded its bound.</exception>
    /// <param name="scheduler">The test scheduler.</param>
    /// <param name="code">The code to run.</param>
    /// <param name="maxSteps">Bound on the work items run (default <see cref="BoundedTestScheduler.MaxSteps"/>).</param>
    /// <param name="realTimeGrace">How long to wait for real thread-pool hops once the scheduler is idle (default 5 s).</param>
    public static void Run(this BoundedTestScheduler scheduler, Func<Task> code, int? maxSteps = null, TimeSpan? realTimeGrace = null)
    {
        var task = scheduler.Start(code);
        scheduler.RunUntilCompleted(task, maxSteps, realTimeGrace).GetAwaiter().GetResult();
    }

    /// <summary>Runs <paramref name="code"/> in virtual time to its end and returns its result.</summary>
    /// <exception cref="TestFailureException">The code still waits when the scheduler has nothing left to run.</exception>
    /// <param name="scheduler">The test scheduler.</param>
    /// <param name="code">The code to run.</param>
    /// <param name="maxSteps">Bound on the work items run (default <see cref="BoundedTestScheduler.MaxSteps"/>).</param>
    /// <param name="realTimeGrace">How long to wait for real thread-pool hops once the scheduler is idle (default 5 s).</param>
    public static T Run<T>(this BoundedTestScheduler scheduler, Func<Task<T>> code, int? maxSteps = null, TimeSpan? realTimeGrace = null) =>
        scheduler.RunUntilCompleted(scheduler.Start(code), maxSteps, realTimeGrace);

    private static TTask WithoutContext<TTask>(Func<TTask> code)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return code();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }
}
