using System.Reactive.Concurrency;
using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

/// <summary>
/// What the kit relies on from Microsoft.Reactive.Testing's <see cref="TestScheduler"/>, and documents: ticks are
/// <see cref="TimeSpan"/> ticks, work for "now" runs a tick later, and <c>Start</c> uses 100 / 200 / 1000. A new
/// version that changed any of this would change what the kit's marbles mean.
/// </summary>
[TestFixture]
public class TestSchedulerTests
{
    [Test]
    public void Clock_IsTimeSpanTicks()
    {
        var scheduler = new TestScheduler();
        var ranAt = -1L;
        scheduler.Schedule(TimeSpan.FromMilliseconds(3), () => ranAt = scheduler.Clock);
        scheduler.Start();
        Assert.That(ranAt, Is.EqualTo(30_000));
        Assert.That(scheduler.Now, Is.EqualTo(new DateTimeOffset(30_000, TimeSpan.Zero)));
    }

    [Test]
    public void WorkDueNow_RunsOneTickLater_AfterWorkAlreadyDue()
    {
        var scheduler = new TestScheduler();
        var log = new List<string>();
        scheduler.ScheduleAbsolute(50, () =>
        {
            log.Add($"first@{scheduler.Clock}");
            scheduler.Schedule(() => log.Add($"now@{scheduler.Clock}"));
        });
        scheduler.ScheduleAbsolute(50, () => log.Add($"second@{scheduler.Clock}"));
        scheduler.Start();
        Assert.That(log, Is.EqualTo(new[] { "first@50", "second@50", "now@51" }));
    }

    [Test]
    public void Hot_PlaysAtAbsoluteTimes_Cold_RelativeToEachSubscription_AtLeastATickLater()
    {
        var scheduler = new TestScheduler();
        var hot = scheduler.CreateHotObservable(OnNext(110, 1), OnNext(310, 2), OnCompleted<int>(500));
        var cold = scheduler.CreateColdObservable(OnNext(0, 'a'), OnNext(20, 'b'));
        var hotObserver = scheduler.CreateObserver<int>();
        var coldObserver = scheduler.CreateObserver<char>();
        scheduler.ScheduleAbsolute(300, () => hot.Subscribe(hotObserver));
        scheduler.ScheduleAbsolute(300, () => cold.Subscribe(coldObserver));
        scheduler.Start();
        hotObserver.Messages.AssertEqual(OnNext(310, 2), OnCompleted<int>(500));
        coldObserver.Messages.AssertEqual(OnNext(301, 'a'), OnNext(320, 'b'));
    }

    [Test]
    public void Start_CreatesAt100_SubscribesAt200_DisposesAt1000()
    {
        var scheduler = new TestScheduler();
        long createdAt = -1, subscribedAt = -1, disposedAt = -1;
        scheduler.Start(() =>
        {
            createdAt = scheduler.Clock;
            return Observable.Create<int>(_ =>
            {
                subscribedAt = scheduler.Clock;
                return () => disposedAt = scheduler.Clock;
            });
        });
        Assert.That((createdAt, subscribedAt, disposedAt), Is.EqualTo((Created, Subscribed, Disposed)));
        Assert.That(MarbleTiming.Default.Origin, Is.EqualTo(Subscribed));
    }

    [Test]
    public void Timers_FireAtTheirExactTick()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, 1), OnNext(400, 2));
        var observer = scheduler.Start(() => xs.Timeout(TimeSpan.FromTicks(100), scheduler));
        RecordedAssert.AreEqual([OnNext(210, 1), OnError<int>(310, e => e is TimeoutException)], observer.Messages);
        var other = new TestScheduler();
        var interval = other.Start(() => Observable.Interval(TimeSpan.FromTicks(300), other), disposed: 1000);
        interval.Messages.AssertEqual(OnNext(500, 0L), OnNext(800, 1L));
    }
}
