using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Runtime.ExceptionServices;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// One of the schedulers a user may pass as <see cref="MuxSessionOptions.Scheduler"/>, with a way to tell whether the
/// calling thread is one of its threads.
/// </summary>
internal sealed class SchedulerUnderTest : IDisposable
{
    /// <summary>The names <see cref="Create"/> knows, in the order the matrix runs them.</summary>
    public static readonly string[] Names = ["Delivery", "ThreadPool", "EventLoop", "SynchronizationContext"];

    private readonly Func<bool> _isCurrentThread;
    private readonly IDisposable? _owned;

    private SchedulerUnderTest(string name, IScheduler scheduler, bool singleThreaded, Func<bool> isCurrentThread, IDisposable? owned)
    {
        Name = name;
        Scheduler = scheduler;
        IsSingleThreaded = singleThreaded;
        _isCurrentThread = isCurrentThread;
        _owned = owned;
    }

    public string Name { get; }
    public IScheduler Scheduler { get; }

    /// <summary>True when every piece of work runs on one thread (an event loop, a UI dispatcher).</summary>
    public bool IsSingleThreaded { get; }

    /// <summary>True when the calling thread is one the scheduler runs its work on.</summary>
    public bool IsCurrentThread() => _isCurrentThread();

    /// <summary>Exceptions that escaped work items into the dispatcher (a UI dispatcher would crash on them).</summary>
    public IReadOnlyCollection<Exception> DispatcherFaults => (_owned as SingleThreadSynchronizationContext)?.Faults ?? [];

    /// <summary>A fresh instance of the scheduler called <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public static SchedulerUnderTest Create(string name)
    {
        switch (name)
        {
            case "Delivery":
                // The default: its threads carry this name (DeliveryScheduler).
                return new(name, MuxSchedulers.Delivery, singleThreaded: false, () => Thread.CurrentThread.Name == "Muxado delivery", null);
            case "ThreadPool":
                return new(name, ThreadPoolScheduler.Instance, singleThreaded: false, () => Thread.CurrentThread.IsThreadPoolThread, null);
            case "EventLoop":
            {
                Thread? loop = null;
                var scheduler = new EventLoopScheduler(start => loop = new Thread(start) { IsBackground = true, Name = "test event loop" });
                return new(name, scheduler, singleThreaded: true, () => ReferenceEquals(Thread.CurrentThread, Volatile.Read(ref loop)), scheduler);
            }
            case "SynchronizationContext":
            {
                var context = new SingleThreadSynchronizationContext("test dispatcher");
                return new(name, new SynchronizationContextScheduler(context), singleThreaded: true,
                    () => ReferenceEquals(Thread.CurrentThread, context.Thread), context);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "no such scheduler in the matrix");
        }
    }

    public void Dispose() => _owned?.Dispose();

    public override string ToString() => Name;
}

/// <summary>
/// A <see cref="SynchronizationContext"/> whose posts run on one thread that pumps a queue: what a UI dispatcher
/// (WPF, WinForms, MAUI) gives a library, without a UI.
/// </summary>
/// <remarks>
/// An exception escaping a posted callback would crash a UI application; here it is recorded in <see cref="Faults"/>
/// for the test to fail on. Posts after <see cref="Dispose"/> are dropped, as a dispatcher that has shut down does.
/// </remarks>
internal sealed class SingleThreadSynchronizationContext : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = new();
    private readonly ConcurrentQueue<Exception> _faults = new();

    public SingleThreadSynchronizationContext(string name)
    {
        Thread = new Thread(Pump) { IsBackground = true, Name = name };
        Thread.Start();
    }

    /// <summary>The one thread every post runs on.</summary>
    public Thread Thread { get; }

    public IReadOnlyCollection<Exception> Faults => _faults;

    public override void Post(SendOrPostCallback d, object? state)
    {
        try
        {
            _queue.Add((d, state));
        }
        catch (InvalidOperationException)
        {
            // Shut down: dropped (see the remarks).
        }
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        if (ReferenceEquals(Thread.CurrentThread, Thread))
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
            catch (Exception ex)
            {
                error = ex;
            }
            finally
            {
                done.Set();
            }
        }, null);
        done.Wait();
        if (error is not null)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    public override SynchronizationContext CreateCopy() => this;

    private void Pump()
    {
        SetSynchronizationContext(this);
        foreach (var (callback, state) in _queue.GetConsumingEnumerable())
        {
            try
            {
                callback(state);
            }
            catch (Exception ex)
            {
                _faults.Enqueue(ex);
            }
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        Thread.Join(TimeSpan.FromSeconds(30));
    }
}
