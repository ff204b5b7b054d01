using System.Globalization;
using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// A virtual-time scheduler whose clock is a <see cref="long"/> count of ticks (1 tick = 100 ns, the unit of
/// <see cref="TimeSpan.Ticks"/>). Time only moves when the test runs the scheduler, so timers, timeouts and
/// delays are exact and tests never sleep.
/// </summary>
/// <remarks>
/// <para>Work scheduled for the current instant or the past runs at the current clock, after work already queued
/// for that instant (first scheduled, first run). Unlike Microsoft.Reactive.Testing there is no one-tick nudge, so a
/// reaction to an event at tick 30 is recorded at tick 30; this keeps outputs on the same marble frames as inputs.</para>
/// <para>Prefer <see cref="RunUntilIdle"/> and <see cref="RunTo"/> to the inherited unbounded
/// <see cref="VirtualTimeSchedulerBase{TAbsolute, TRelative}.Start()"/> and <c>AdvanceTo</c>: a livelock then fails
/// the test instead of hanging it.</para>
/// </remarks>
public class TestScheduler : VirtualTimeScheduler<long, long>
{
    /// <summary>Default bound on scheduled items run by <see cref="RunUntilIdle"/>, <see cref="RunTo"/> and <c>Start&lt;T&gt;</c>.</summary>
    public const int DefaultMaxSteps = 100_000;

    private long _ticksPerFrame = Marbles.DefaultTicksPerFrame;

    /// <summary>Virtual ticks one marble frame (<c>-</c> or an event) lasts; defaults to <see cref="Marbles.DefaultTicksPerFrame"/>.</summary>
    public long TicksPerFrame
    {
        get => _ticksPerFrame;
        set => _ticksPerFrame = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A frame lasts at least one tick.");
    }

    /// <summary>
    /// Absolute time of a hot or expected marble string's time zero (its <c>^</c>, or its first frame); defaults to
    /// <see cref="ReactiveTest.Subscribed"/> so marbles line up with <see cref="Start{T}(Func{IObservable{T}})"/>.
    /// </summary>
    public long MarbleOrigin { get; set; } = ReactiveTest.Subscribed;

    /// <summary>Runs <paramref name="action"/> at absolute virtual time <paramref name="dueTime"/>.</summary>
    public IDisposable ScheduleAbsolute(long dueTime, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return ScheduleAbsolute(action, dueTime, static (_, a) =>
        {
            a();
            return Disposable.Empty;
        });
    }

    /// <summary>Runs <paramref name="action"/> <paramref name="dueTime"/> ticks after the current clock.</summary>
    public IDisposable ScheduleRelative(long dueTime, Action action) => ScheduleAbsolute(Add(Clock, dueTime), action);

    /// <summary>A hot observable playing <paramref name="messages"/> at their absolute times.</summary>
    public ITestableObservable<T> CreateHotObservable<T>(params Recorded<Notification<T>>[] messages) =>
        new HotObservable<T>(this, messages);

    /// <summary>A cold observable playing <paramref name="messages"/> relative to each subscription.</summary>
    public ITestableObservable<T> CreateColdObservable<T>(params Recorded<Notification<T>>[] messages) =>
        new ColdObservable<T>(this, messages);

    /// <summary>An observer recording what it receives, stamped with this scheduler's clock.</summary>
    public ITestableObserver<T> CreateObserver<T>() => new TestObserver<T>(this);

    /// <summary>
    /// Creates the observable at <paramref name="created"/>, subscribes a recording observer at
    /// <paramref name="subscribed"/>, disposes that subscription at <paramref name="disposed"/>, and runs the
    /// scheduler until idle (bounded by <see cref="DefaultMaxSteps"/>).
    /// </summary>
    /// <returns>The observer, whose messages are those received between subscription and disposal.</returns>
    public ITestableObserver<T> Start<T>(Func<IObservable<T>> create, long created, long subscribed, long disposed)
    {
        ArgumentNullException.ThrowIfNull(create);
        var observer = CreateObserver<T>();
        IObservable<T>? source = null;
        IDisposable? subscription = null;
        ScheduleAbsolute(created, () => source = create());
        ScheduleAbsolute(subscribed, () => subscription = source!.Subscribe(observer));
        ScheduleAbsolute(disposed, () => subscription!.Dispose());
        RunUntilIdle();
        return observer;
    }

    /// <summary><see cref="Start{T}(Func{IObservable{T}}, long, long, long)"/> with the default create and subscribe times.</summary>
    public ITestableObserver<T> Start<T>(Func<IObservable<T>> create, long disposed) =>
        Start(create, ReactiveTest.Created, ReactiveTest.Subscribed, disposed);

    /// <summary><see cref="Start{T}(Func{IObservable{T}}, long, long, long)"/> at 100 / 200 / 1000 (see <see cref="ReactiveTest"/>).</summary>
    public ITestableObserver<T> Start<T>(Func<IObservable<T>> create) =>
        Start(create, ReactiveTest.Created, ReactiveTest.Subscribed, ReactiveTest.Disposed);

    /// <summary>
    /// Runs scheduled work one item at a time, moving the clock to each item's due time, until nothing is left.
    /// </summary>
    /// <param name="maxSteps">Most items allowed to run; a livelock (work that keeps scheduling work) hits it.</param>
    /// <returns>How many items ran.</returns>
    /// <exception cref="InvalidOperationException">More than <paramref name="maxSteps"/> items were due; the extra item is left queued.</exception>
    public int RunUntilIdle(int maxSteps = DefaultMaxSteps) => Run(long.MaxValue, maxSteps);

    /// <summary>
    /// Runs work due at or before <paramref name="time"/>, then sets the clock to <paramref name="time"/>:
    /// a bounded <c>AdvanceTo</c>.
    /// </summary>
    /// <returns>How many items ran.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before the clock.</exception>
    /// <exception cref="InvalidOperationException">More than <paramref name="maxSteps"/> items were due.</exception>
    public int RunTo(long time, int maxSteps = DefaultMaxSteps)
    {
        if (time < Clock)
        {
            throw new ArgumentOutOfRangeException(nameof(time), time, $"Virtual time cannot go back from {Clock}.");
        }
        var steps = Run(time, maxSteps);
        Clock = time;
        return steps;
    }

    private int Run(long until, int maxSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSteps);
        var steps = 0;
        while (GetNext() is { } next && next.DueTime <= until)
        {
            if (steps == maxSteps)
            {
                throw new InvalidOperationException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The test scheduler ran {maxSteps} scheduled items and still has work due at {next.DueTime} (clock {Clock}); something probably reschedules itself forever."));
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

    /// <summary>Adds ticks, saturating at <see cref="long.MaxValue"/> (Rx adds <see cref="TimeSpan.MaxValue"/> for "never").</summary>
    protected override long Add(long absolute, long relative)
    {
        var sum = unchecked(absolute + relative);
        // Overflow happened when both operands share a sign the sum does not.
        return ((absolute ^ sum) & (relative ^ sum)) < 0 ? (relative > 0 ? long.MaxValue : long.MinValue) : sum;
    }

    /// <summary>The clock as a UTC date whose ticks are the virtual ticks (clamped to the range of <see cref="DateTimeOffset"/>).</summary>
    protected override DateTimeOffset ToDateTimeOffset(long absolute) =>
        new(Math.Clamp(absolute, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero);

    /// <summary>A <see cref="TimeSpan"/> as virtual ticks (one to one).</summary>
    protected override long ToRelative(TimeSpan timeSpan) => timeSpan.Ticks;
}
