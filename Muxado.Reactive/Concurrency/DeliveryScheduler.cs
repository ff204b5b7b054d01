using System.Collections.Concurrent;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// The default scheduler of sessions (<see cref="MuxSchedulers.Delivery"/>): a pool of threads of its own that runs the
/// deliveries to user code, and adds a thread within milliseconds when the ones it has are all held by subscribers that
/// block.
/// </summary>
/// <remarks>
/// <para>Why not the .NET thread pool: a subscriber that blocks in <c>OnNext</c> would hold a pool thread, and the transport's
/// reader and writer loops, whose continuations need pool threads too, would stall behind it; the pool adds threads only
/// slowly (about two a second), so 16 blocked subscribers cut a healthy stream to a few MiB/s and 64 could end the session
/// with a write timeout. Here blocking subscribers only hold threads of this pool, and the transport keeps the .NET pool.</para>
/// <para>Policy: up to one thread per processor starts at once when work waits and no thread is idle. Beyond that, a thread
/// is added only when work waits and no work item has finished for <see cref="StallTime"/> (every thread is held), so busy
/// but healthy work never makes more threads than processors. Threads that stay idle for <see cref="IdleTime"/> end. At most
/// <see cref="MaxThreads"/> threads.</para>
/// <para>Timers wait on the .NET timer and then queue their work here.</para>
/// </remarks>
internal sealed class DeliveryScheduler : LocalScheduler
{
    /// <summary>No finished work item for this long while work waits means every thread is held: add one.</summary>
    public static readonly TimeSpan StallTime = TimeSpan.FromMilliseconds(20);

    /// <summary>A thread idle for this long ends.</summary>
    public static readonly TimeSpan IdleTime = TimeSpan.FromSeconds(20);

    /// <summary>The most threads the pool makes (each blocked subscriber holds one).</summary>
    public const int MaxThreads = 1024;

    private readonly ConcurrentQueue<WorkItem> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Timer _stallCheck;
    private int _threads;
    private int _idle;
    private long _finished;
    private long _finishedAtLastCheck;
    private int _stallCheckRunning;

    public DeliveryScheduler() => _stallCheck = new Timer(_ => CheckForStall(), null, Timeout.Infinite, Timeout.Infinite);

    /// <summary>Threads the pool has now (for tests and diagnostics).</summary>
    public int ThreadCount => Volatile.Read(ref _threads);

    /// <inheritdoc />
    public override IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var item = new WorkItem<TState>(this, state, action);
        var normalized = Scheduler.Normalize(dueTime);
        if (normalized == TimeSpan.Zero)
        {
            Enqueue(item);
            return item;
        }
        var timer = new Timer(static s => ((WorkItem)s!).Owner.Enqueue((WorkItem)s!), item, Timeout.Infinite, Timeout.Infinite);
        item.Timer = timer;
        timer.Change(normalized, Timeout.InfiniteTimeSpan);
        return item;
    }

    private void Enqueue(WorkItem item)
    {
        item.Timer?.Dispose();
        _queue.Enqueue(item);
        if (Volatile.Read(ref _idle) > 0)
        {
            _wake.Release();
            return;
        }
        if (!TryAddThread(onlyBelowProcessorCount: true))
        {
            StartStallCheck();
        }
    }

    private bool TryAddThread(bool onlyBelowProcessorCount)
    {
        int limit = onlyBelowProcessorCount ? Environment.ProcessorCount : MaxThreads;
        while (true)
        {
            int threads = Volatile.Read(ref _threads);
            if (threads >= limit)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _threads, threads + 1, threads) == threads)
            {
                break;
            }
        }
        var thread = new Thread(Work) { IsBackground = true, Name = "Muxado delivery" };
        thread.Start();
        return true;
    }

    private void StartStallCheck()
    {
        if (Interlocked.Exchange(ref _stallCheckRunning, 1) == 0)
        {
            _finishedAtLastCheck = Interlocked.Read(ref _finished);
            _stallCheck.Change(StallTime, StallTime);
        }
    }

    private void CheckForStall()
    {
        if (_queue.IsEmpty)
        {
            Volatile.Write(ref _stallCheckRunning, 0);
            _stallCheck.Change(Timeout.Infinite, Timeout.Infinite);
            // Work queued between the emptiness check and here restarts the check itself.
            if (!_queue.IsEmpty)
            {
                StartStallCheck();
            }
            return;
        }
        long finished = Interlocked.Read(ref _finished);
        if (finished == _finishedAtLastCheck && Volatile.Read(ref _idle) == 0)
        {
            TryAddThread(onlyBelowProcessorCount: false);
        }
        _finishedAtLastCheck = finished;
    }

    private void Work()
    {
        try
        {
            while (true)
            {
                if (_queue.TryDequeue(out var item))
                {
                    item.Run();
                    Interlocked.Increment(ref _finished);
                    continue;
                }
                Interlocked.Increment(ref _idle);
                // Looked again after counting as idle: an Enqueue that saw no idle thread has queued before this.
                if (_queue.TryDequeue(out item))
                {
                    Interlocked.Decrement(ref _idle);
                    item.Run();
                    Interlocked.Increment(ref _finished);
                    continue;
                }
                bool woken = _wake.Wait(IdleTime);
                Interlocked.Decrement(ref _idle);
                if (!woken && _queue.IsEmpty)
                {
                    return;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _threads);
            // Work that arrived as this thread left must not wait for the stall check.
            if (!_queue.IsEmpty && Volatile.Read(ref _idle) == 0)
            {
                TryAddThread(onlyBelowProcessorCount: false);
            }
        }
    }

    private abstract class WorkItem(DeliveryScheduler owner) : IDisposable
    {
        private readonly SingleAssignmentDisposable _inner = new();
        private int _cancelled;

        public DeliveryScheduler Owner { get; } = owner;
        public Timer? Timer { get; set; }

        public void Run()
        {
            if (Volatile.Read(ref _cancelled) != 0)
            {
                return;
            }
            _inner.Disposable = Invoke();
        }

        public void Dispose()
        {
            Volatile.Write(ref _cancelled, 1);
            Timer?.Dispose();
            _inner.Dispose();
        }

        protected abstract IDisposable Invoke();
    }

    private sealed class WorkItem<TState>(DeliveryScheduler owner, TState state, Func<IScheduler, TState, IDisposable> action) : WorkItem(owner)
    {
        protected override IDisposable Invoke() => action(Owner, state);
    }
}
