using System.Reactive.Concurrency;
using System.Reactive.Linq;
using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

[TestFixture]
public class RunUntilIdleTests
{
    [Test]
    public void RunsEverything_AndReportsHowManyItemsRan()
    {
        var scheduler = new TestScheduler();
        var log = new List<long>();
        foreach (var t in new long[] { 30, 10, 20 })
        {
            scheduler.ScheduleAbsolute(t, () => log.Add(scheduler.Clock));
        }
        Assert.That(scheduler.RunUntilIdle(), Is.EqualTo(3));
        Assert.That(log, Is.EqualTo(new long[] { 10, 20, 30 }));
        Assert.That(scheduler.Clock, Is.EqualTo(30));
        Assert.That(scheduler.RunUntilIdle(), Is.Zero, "idle scheduler has nothing to run");
    }

    [Test]
    public void ActionReschedulingItselfAtTheSameInstant_FailsInsteadOfHanging()
    {
        var scheduler = new TestScheduler();
        scheduler.Schedule(self => self());
        var error = Assert.Throws<InvalidOperationException>(() => scheduler.RunUntilIdle(maxSteps: 1_000));
        Assert.That(error!.Message, Does.Contain("1000 scheduled items").And.Contain("reschedules itself"));
        Assert.That(scheduler.Clock, Is.Zero);
    }

    [Test]
    public void ActionReschedulingItselfLater_FailsInsteadOfRunningForever()
    {
        var scheduler = new TestScheduler();
        scheduler.Schedule(TimeSpan.FromTicks(1), self => self(TimeSpan.FromTicks(1)));
        Assert.Throws<InvalidOperationException>(() => scheduler.RunUntilIdle(maxSteps: 500));
        Assert.That(scheduler.Clock, Is.EqualTo(500));
    }

    [Test]
    public void ExactlyMaxStepsIsAllowed_OneMoreIsNot_AndTheExtraItemStaysQueued()
    {
        var scheduler = new TestScheduler();
        var ran = 0;
        for (var i = 0; i < 6; i++)
        {
            scheduler.ScheduleAbsolute(i, () => ran++);
        }
        Assert.Throws<InvalidOperationException>(() => scheduler.RunUntilIdle(maxSteps: 5));
        Assert.That(ran, Is.EqualTo(5));
        Assert.That(scheduler.RunUntilIdle(maxSteps: 1), Is.EqualTo(1));
        Assert.That(ran, Is.EqualTo(6));
    }

    [Test]
    public void RunTo_RunsWorkDueUpToTheTime_ThenSetsTheClock()
    {
        var scheduler = new TestScheduler();
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
    }

    [Test]
    public void RunTo_IsBoundedToo()
    {
        var scheduler = new TestScheduler();
        scheduler.ScheduleAbsolute(10, () => scheduler.Schedule(self => self()));
        Assert.Throws<InvalidOperationException>(() => scheduler.RunTo(100, maxSteps: 100));
    }

    [Test]
    public void Start_OnALivelockingSource_FailsInsteadOfHanging()
    {
        var scheduler = new TestScheduler();
        // Repeat on a scheduler that never moves time on its own: the disposal at 1000 is never reached.
        Assert.Throws<InvalidOperationException>(() => scheduler.Start(() => Observable.Repeat(1, scheduler)));
        Assert.That(scheduler.Clock, Is.EqualTo(Subscribed));
    }
}
