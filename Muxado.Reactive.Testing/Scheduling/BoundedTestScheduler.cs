using System.Globalization;
using System.Reactive.Concurrency;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Microsoft.Reactive.Testing's <see cref="TestScheduler"/> with runs that always end: <see cref="RunUntilIdle"/>,
/// <see cref="RunTo"/> and <see cref="RunFor"/> stop after a number of work items and fail with a
/// <see cref="TestFailureException"/> instead of hanging when something keeps scheduling work.
/// </summary>
/// <remarks>
/// <para>Everything else is the inherited <see cref="TestScheduler"/>: the clock counts <see cref="TimeSpan"/> ticks,
/// and work scheduled for the current instant (or the past) runs one tick later, after the work already due.
/// So every hop through the scheduler moves the clock by a tick: an answer to a frame that arrived at tick 210
/// is recorded at 211, 212 or later depending on how many hops the code takes, which is why the kit's marble
/// comparisons accept an event anywhere within its frame (see <see cref="MarbleTiming"/>).</para>
/// <para>During a run the current <see cref="SynchronizationContext"/> is removed, so the continuations of code
/// awaiting something the scheduler completes (a session's <c>AcceptAsync</c>, a write waiting for credit) run
/// inside the step that completes them, in virtual time, instead of being posted to a test framework's context.
/// The context is restored when the run returns.</para>
/// <para>A due time past the end of the clock (Rx uses <see cref="TimeSpan.MaxValue"/> for "never") saturates at
/// <see cref="long.MaxValue"/> instead of overflowing into the past, where it would run at once.</para>
/// <para>The inherited unbounded runs (<c>Start()</c>, <c>AdvanceTo</c>, <c>AdvanceBy</c>, <c>Start(create)</c>)
/// still work and are fine for finite sequences; a session with a periodic timer (a heartbeat) never becomes idle,
/// so drive sessions with the bounded runs. Not thread-safe: run it from one thread (work may be scheduled on it
/// from any thread).</para>
/// </remarks>
public class BoundedTestScheduler : TestScheduler
{
    /// <summary>Default bound on the work items one run may execute.</summary>
    public const int DefaultMaxSteps = 100_000;

    private const string LivelockHint =
        "something keeps scheduling work, a livelock or a periodic timer such as a heartbeat; run to a time (RunTo, RunFor) to stop a timer at a given moment.";

    private int _maxSteps = DefaultMaxSteps;
    private bool _running;

    /// <summary>The bound used when a run is not given one; defaults to <see cref="DefaultMaxSteps"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public int MaxSteps
    {
        get => _maxSteps;
        set => _maxSteps = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A run takes at least one step.");
    }

    /// <summary>The due time of the next work item that has not been cancelled, or null when there is none.</summary>
    public long? NextDueTime => GetNext()?.DueTime;

    /// <summary>
    /// Runs scheduled work one item at a time, moving the clock to each item's due time, until nothing is left.
    /// </summary>
    /// <param name="maxSteps">Most items this run may execute (default <see cref="MaxSteps"/>).</param>
    /// <returns>How many items ran.</returns>
    /// <exception cref="TestFailureException">More items were due than <paramref name="maxSteps"/>: a livelock, or a
    /// periodic timer (use <see cref="RunTo"/> or <see cref="RunFor"/> to stop at a time). The next item stays queued.</exception>
    public int RunUntilIdle(int? maxSteps = null) => Run(long.MaxValue, maxSteps ?? MaxSteps, null);

    /// <summary>Runs the work due at or before <paramref name="time"/>, then sets the clock to <paramref name="time"/>.</summary>
    /// <returns>How many items ran.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before the clock.</exception>
    /// <exception cref="TestFailureException">More items were due than <paramref name="maxSteps"/>.</exception>
    public int RunTo(long time, int? maxSteps = null)
    {
        if (time < Clock)
        {
            throw new ArgumentOutOfRangeException(nameof(time), time, string.Create(CultureInfo.InvariantCulture, $"Virtual time cannot go back from {Clock}."));
        }
        var steps = Run(time, maxSteps ?? MaxSteps, null);
        Clock = time;
        return steps;
    }

    /// <summary>Runs the work due within the next <paramref name="duration"/>, then moves the clock by it.</summary>
    /// <returns>How many items ran.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/> is negative.</exception>
    /// <exception cref="TestFailureException">More items were due than <paramref name="maxSteps"/>.</exception>
    public int RunFor(TimeSpan duration, int? maxSteps = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        return RunTo(Add(Clock, duration.Ticks), maxSteps);
    }

    /// <summary>
    /// Runs the scheduler until <paramref name="task"/> completes, and returns it (completed) so that its result or
    /// exception can be observed. Work due after the task completed stays queued (a heartbeat's next beat).
    /// </summary>
    /// <remarks>
    /// When the scheduler is idle and the task still pending, the task may be waiting for a hop through the thread
    /// pool (a lock handed over by <see cref="SemaphoreSlim"/>): it is given up to <paramref name="realTimeGrace"/>
    /// (default 5 s) of real time, and the scheduler runs again whenever that hop schedules work. Only a task that
    /// waits for something that never happens waits that long, and then fails.
    /// </remarks>
    /// <exception cref="TestFailureException">The task did not complete once the scheduler had nothing left to run,
    /// or a run exceeded <paramref name="maxSteps"/>.</exception>
    public Task RunUntilCompleted(Task task, int? maxSteps = null, TimeSpan? realTimeGrace = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        var grace = realTimeGrace ?? TimeSpan.FromSeconds(5);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var steps = 0;
        var limit = maxSteps ?? MaxSteps;
        while (true)
        {
            steps += Run(long.MaxValue, limit - steps, task);
            if (task.IsCompleted)
            {
                return task;
            }
            var slice = grace - waited.Elapsed;
            if (slice <= TimeSpan.Zero)
            {
                throw new TestFailureException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The task is still pending at virtual time {Clock} although the scheduler has nothing left to run (and {grace.TotalSeconds:0.#} s of real time passed): it waits for something that never happens."));
            }
            // Wake when the task completes, or briefly to run work another thread scheduled meanwhile.
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne(slice < TimeSpan.FromMilliseconds(20) ? slice : TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary><see cref="RunUntilCompleted(Task, int?, TimeSpan?)"/> for a task with a result, which it returns.</summary>
    /// <exception cref="TestFailureException">The task did not complete, see <see cref="RunUntilCompleted(Task, int?, TimeSpan?)"/>.</exception>
    public T RunUntilCompleted<T>(Task<T> task, int? maxSteps = null, TimeSpan? realTimeGrace = null)
    {
        RunUntilCompleted((Task)task, maxSteps, realTimeGrace);
        return task.GetAwaiter().GetResult();
    }

    /// <summary>Adds ticks, saturating at <see cref="long.MaxValue"/> and <see cref="long.MinValue"/>.</summary>
    protected override long Add(long absolute, long relative)
    {
        var sum = unchecked(absolute + relative);
        // Overflow happened when both operands share a sign the sum does not.
        return ((absolute ^ sum) & (relative ^ sum)) < 0 ? (relative > 0 ? long.MaxValue : long.MinValue) : sum;
    }

    /// <summary>Runs work due at or before <paramref name="until"/>, at most <paramref name="maxSteps"/> items, stopping early once <paramref name="done"/> completes.</summary>
    private int Run(long until, int maxSteps, Task? done)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSteps);
        if (_running)
        {
            throw new InvalidOperationException("The scheduler is already running; a work item cannot run it again.");
        }
        _running = true;
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            var steps = 0;
            while (done is not { IsCompleted: true } && GetNext() is { } next && next.DueTime <= until)
            {
                if (steps == maxSteps)
                {
                    throw new TestFailureException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"The test scheduler ran {maxSteps} work items and still has work due at {next.DueTime} (clock {Clock}): {LivelockHint}"));
                }
                if (next.DueTime > Clock)
                {
                    Clock = next.DueTime;
                }
                steps++;
                next.Invoke();
            }
            return steps;
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
            _running = false;
        }
    }
}
