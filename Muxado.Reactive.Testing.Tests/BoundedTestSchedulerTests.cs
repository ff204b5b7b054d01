using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class BoundedTestSchedulerTests
{
    [Test]
    public void RunsEverything_AndReportsHowManyItemsRan()
    {
        var scheduler = new BoundedTestScheduler();
        var log = new List<long>();
        foreach (var t in new long[] { 30, 10, 20 })
        {
            scheduler.ScheduleAbsolute(t, () => log.Add(scheduler.Clock));
        }
        Assert.That(scheduler.NextDueTime, Is.EqualTo(10));
        Assert.That(scheduler.RunUntilIdle(), Is.EqualTo(3));
        Assert.That(log, Is.EqualTo(new long[] { 10, 20, 30 }));
        Assert.That(scheduler.Clock, Is.EqualTo(30));
        Assert.That(scheduler.NextDueTime, Is.Null);
        Assert.That(scheduler.RunUntilIdle(), Is.Zero, "idle scheduler has nothing to run");
    }

    [Test]
    public void ActionReschedulingItselfForNow_FailsInsteadOfHanging()
    {
        var scheduler = new BoundedTestScheduler();
        scheduler.Schedule(self => self());
        var error = Assert.Throws<TestFailureException>(() => scheduler.RunUntilIdle(maxSteps: 1_000));
        Assert.That(error!.Message, Does.Contain("ran 1000 work items").And.Contain("keeps scheduling work"));
        // Microsoft.Reactive.Testing runs work scheduled for now a tick later: each round moved the clock by one.
        Assert.That(scheduler.Clock, Is.EqualTo(1_000));
    }

    [Test]
    public void ActionReschedulingItselfLater_FailsInsteadOfRunningForever()
    {
        var scheduler = new BoundedTestScheduler();
        scheduler.Schedule(TimeSpan.FromTicks(1), self => self(TimeSpan.FromTicks(1)));
        Assert.Throws<TestFailureException>(() => scheduler.RunUntilIdle(maxSteps: 500));
        Assert.That(scheduler.Clock, Is.EqualTo(500));
    }

    [Test]
    public void APeriodicTimer_NeverBecomesIdle_ButRunsToATime()
    {
        var scheduler = new BoundedTestScheduler { MaxSteps = 50 };
        var ticks = 0;
        using var timer = scheduler.SchedulePeriodic(TimeSpan.FromSeconds(1), () => ticks++);
        Assert.Throws<TestFailureException>(() => scheduler.RunUntilIdle());
        Assert.That(ticks, Is.EqualTo(50), "MaxSteps is the default bound");
        var before = ticks;
        scheduler.RunFor(TimeSpan.FromSeconds(10));
        Assert.That(ticks - before, Is.EqualTo(10));
        Assert.That(() => scheduler.MaxSteps = 0, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ExactlyMaxStepsIsAllowed_OneMoreIsNot_AndTheExtraItemStaysQueued()
    {
        var scheduler = new BoundedTestScheduler();
        var ran = 0;
        for (var i = 1; i <= 6; i++)
        {
            scheduler.ScheduleAbsolute(i, () => ran++);
        }
        Assert.Throws<TestFailureException>(() => scheduler.RunUntilIdle(maxSteps: 5));
        Assert.That(ran, Is.EqualTo(5));
        Assert.That(scheduler.RunUntilIdle(maxSteps: 1), Is.EqualTo(1));
        Assert.That(ran, Is.EqualTo(6));
    }

    [Test]
    public void RunTo_RunsWorkDueUpToTheTime_ThenSetsTheClock()
    {
        var scheduler = new BoundedTestScheduler();
        var log = new List<long>();
        scheduler.ScheduleAbsolute(100, () => log.Add(scheduler.Clock));
        scheduler.ScheduleAbsolute(200, () => log.Add(scheduler.Clock));
        scheduler.ScheduleAbsolute(201, () => log.Add(scheduler.Clock));
        Assert.That(scheduler.RunTo(200), Is.EqualTo(2));
        Assert.That(log, Is.EqualTo(new long[] { 100, 200 }));
        Assert.That(scheduler.Clock, Is.EqualTo(200));
        Assert.That(() => scheduler.RunTo(199), Throws.InstanceOf<ArgumentOutOfRangeException>());
        scheduler.RunTo(5_000);
        Assert.That(log, Is.EqualTo(new long[] { 100, 200, 201 }));
        Assert.That(scheduler.Clock, Is.EqualTo(5_000));
        Assert.That(() => scheduler.RunFor(TimeSpan.FromTicks(-1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void RunTo_IsBoundedToo()
    {
        var scheduler = new BoundedTestScheduler();
        scheduler.ScheduleAbsolute(10, () => scheduler.Schedule(self => self()));
        Assert.Throws<TestFailureException>(() => scheduler.RunTo(100_000, maxSteps: 100));
    }

    [Test]
    public void NeverDueTimes_SaturateInsteadOfOverflowingIntoThePast()
    {
        // Rx passes TimeSpan.MaxValue for "never"; added to the clock it would wrap to a negative time and run at once.
        var scheduler = new BoundedTestScheduler();
        scheduler.RunTo(100);
        var ran = false;
        scheduler.Schedule(TimeSpan.MaxValue, () => ran = true);
        scheduler.RunTo(1_000_000);
        Assert.That(ran, Is.False);
        Assert.That(scheduler.NextDueTime, Is.EqualTo(long.MaxValue));
    }

    [Test]
    public void ARun_RemovesTheSynchronizationContext_SoContinuationsStayInVirtualTime()
    {
        var scheduler = new BoundedTestScheduler();
        var posting = new PostingContext();
        SynchronizationContext? seen = posting;
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(posting);
        try
        {
            scheduler.ScheduleAbsolute(10, () => seen = SynchronizationContext.Current);
            scheduler.RunUntilIdle();
            Assert.That(seen, Is.Null);
            Assert.That(SynchronizationContext.Current, Is.SameAs(posting), "restored after the run");
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    [Test]
    public void AWorkItemCannotRunTheSchedulerAgain()
    {
        var scheduler = new BoundedTestScheduler();
        Exception? nested = null;
        scheduler.ScheduleAbsolute(10, () => nested = Assert.Catch(() => scheduler.RunUntilIdle()));
        scheduler.RunUntilIdle();
        Assert.That(nested, Is.TypeOf<InvalidOperationException>());
    }

    [Test]
    public void RunUntilCompleted_RunsUntilTheTaskIsDone_AndLeavesLaterWorkQueued()
    {
        var scheduler = new BoundedTestScheduler();
        var result = scheduler.RunUntilCompleted(Observable.Timer(TimeSpan.FromSeconds(3), scheduler).Select(_ => scheduler.Clock).FirstAsync().ToTask());
        Assert.That(result, Is.EqualTo(TimeSpan.FromSeconds(3).Ticks));
        using var periodic = scheduler.SchedulePeriodic(TimeSpan.FromSeconds(1), () => { });
        var done = scheduler.RunUntilCompleted(Observable.Timer(TimeSpan.FromSeconds(2), scheduler).FirstAsync().ToTask());
        Assert.That(done, Is.Zero);
        Assert.That(scheduler.Clock, Is.EqualTo(TimeSpan.FromSeconds(5).Ticks), "stopped when the task completed, despite the periodic timer");
    }

    [Test]
    public void RunUntilCompleted_FailsWhenTheTaskWaitsForSomethingThatNeverHappens()
    {
        var scheduler = new BoundedTestScheduler();
        var never = new TaskCompletionSource();
        var error = Assert.Throws<TestFailureException>(() => scheduler.RunUntilCompleted(never.Task, realTimeGrace: TimeSpan.FromMilliseconds(50)));
        Assert.That(error!.Message, Does.Contain("waits for something that never happens"));
    }

    [Test]
    public void RunUntilCompleted_WaitsForWorkScheduledFromAnotherThread()
    {
        var scheduler = new BoundedTestScheduler();
        var done = new TaskCompletionSource<long>();
        // A thread-pool hop (as a lock handed over by SemaphoreSlim would make) schedules the last step.
        _ = Task.Run(() => scheduler.ScheduleAbsolute(500, () => done.SetResult(scheduler.Clock)));
        Assert.That(scheduler.RunUntilCompleted(done.Task), Is.EqualTo(500));
    }

    private sealed class PostingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => throw new InvalidOperationException("posted");
    }
}
