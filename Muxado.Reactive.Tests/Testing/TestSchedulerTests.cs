using System.Reactive.Concurrency;
using System.Reactive.Linq;
using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

[TestFixture]
public class TestSchedulerTests
{
    [Test]
    public void Clock_IsTimeSpanTicks()
    {
        var scheduler = new TestScheduler();
        var ranAt = -1L;
        scheduler.Schedule(TimeSpan.FromMilliseconds(3), () => ranAt = scheduler.Clock);
        scheduler.RunUntilIdle();
        Assert.That(ranAt, Is.EqualTo(30_000));
        Assert.That(scheduler.Now, Is.EqualTo(new DateTimeOffset(30_000, TimeSpan.Zero)));
    }

    [Test]
    public void ScheduleAtAbsoluteDate_ConvertsBackToTicks()
    {
        var scheduler = new TestScheduler();
        var ranAt = -1L;
        scheduler.Schedule(new DateTimeOffset(500, TimeSpan.Zero), () => ranAt = scheduler.Clock);
        scheduler.RunUntilIdle();
        Assert.That(ranAt, Is.EqualTo(500));
    }

    [Test]
    public void NeverDueTimes_SaturateInsteadOfOverflowing()
    {
        var scheduler = new TestScheduler();
        scheduler.RunTo(100);
        var ran = false;
        scheduler.Schedule(TimeSpan.MaxValue, () => ran = true);
        scheduler.RunTo(1_000_000);
        Assert.That(ran, Is.False);
        Assert.That(scheduler.Clock, Is.EqualTo(1_000_000));
    }

    [Test]
    public void WorkDueNow_RunsAtTheCurrentTick_AfterWorkAlreadyQueued()
    {
        var scheduler = new TestScheduler();
        var log = new List<string>();
        scheduler.ScheduleAbsolute(50, () =>
        {
            log.Add($"first@{scheduler.Clock}");
            scheduler.Schedule(() => log.Add($"now@{scheduler.Clock}"));
        });
        scheduler.ScheduleAbsolute(50, () => log.Add($"second@{scheduler.Clock}"));
        scheduler.RunUntilIdle();
        Assert.That(log, Is.EqualTo(new[] { "first@50", "second@50", "now@50" }));
    }

    [Test]
    public void Hot_PlaysAtAbsoluteTimes_RegardlessOfWhenSubscribed()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(110, 1), OnNext(310, 2), OnNext(410, 3), OnCompleted<int>(500));
        var observer = scheduler.CreateObserver<int>();
        scheduler.ScheduleAbsolute(300, () => xs.Subscribe(observer));
        scheduler.RunUntilIdle();
        observer.Messages.AssertEqual(OnNext(310, 2), OnNext(410, 3), OnCompleted<int>(500));
        xs.Subscriptions.AssertEqual(Subscribe(300));
    }

    [Test]
    public void Cold_PlaysRelativeToEachSubscription()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable(OnNext(10, 1), OnNext(20, 2), OnCompleted<int>(30));
        var first = scheduler.CreateObserver<int>();
        var second = scheduler.CreateObserver<int>();
        scheduler.ScheduleAbsolute(300, () => xs.Subscribe(first));
        scheduler.ScheduleAbsolute(405, () => xs.Subscribe(second));
        scheduler.RunUntilIdle();
        first.Messages.AssertEqual(OnNext(310, 1), OnNext(320, 2), OnCompleted<int>(330));
        second.Messages.AssertEqual(OnNext(415, 1), OnNext(425, 2), OnCompleted<int>(435));
        xs.Subscriptions.AssertEqual(Subscribe(300), Subscribe(405));
    }

    [Test]
    public void Cold_MessageAtZero_ArrivesAtTheSubscriptionTick()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable(OnNext(0, 'a'), OnCompleted<char>(0));
        var observer = scheduler.Start(() => xs);
        observer.Messages.AssertEqual(OnNext(200, 'a'), OnCompleted<char>(200));
    }

    [Test]
    public void Cold_DisposingCancelsTheRestOfTheScript()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable(OnNext(100, 1), OnNext(900, 2), OnCompleted<int>(950));
        var observer = scheduler.Start(() => xs);
        observer.Messages.AssertEqual(OnNext(300, 1));
        xs.Subscriptions.AssertEqual(Subscribe(200, 1000));
        Assert.That(scheduler.Clock, Is.EqualTo(1000), "cancelled messages must not keep the clock running");
    }

    [Test]
    public void Start_SeesOnlyWhatHappensBetweenSubscribeAndDispose()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(150, 1), OnNext(200, 2), OnNext(210, 3), OnNext(1000, 4), OnNext(1001, 5), OnCompleted<int>(1100));
        var observer = scheduler.Start(() => xs);
        // 150: before subscription. 200: the hot message was scheduled before Start's subscription, so it runs first.
        // 1000: likewise scheduled before the disposal. 1001 and the completion: after disposal.
        observer.Messages.AssertEqual(OnNext(210, 3), OnNext(1000, 4));
        xs.Subscriptions.AssertEqual(Subscribe(200, 1000));
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
    }

    [Test]
    public void Start_WithCustomTimes()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(40, 1), OnNext(60, 2), OnNext(90, 3));
        var observer = scheduler.Start(() => xs, created: 10, subscribed: 50, disposed: 80);
        observer.Messages.AssertEqual(OnNext(60, 2));
        xs.Subscriptions.AssertEqual(Subscribe(50, 80));
    }

    [Test]
    public void Start_ReturnOnTheTestScheduler_EmitsAtTheSubscriptionTick()
    {
        var scheduler = new TestScheduler();
        var observer = scheduler.Start(() => Observable.Return(42, scheduler));
        observer.Messages.AssertEqual(OnNext(200, 42), OnCompleted<int>(200));
    }

    [Test]
    public void Hot_MessagesAlreadyInThePast_AreDropped()
    {
        var scheduler = new TestScheduler();
        scheduler.RunTo(100);
        var xs = scheduler.CreateHotObservable(OnNext(50, 1), OnNext(100, 2), OnNext(150, 3));
        var observer = scheduler.CreateObserver<int>();
        xs.Subscribe(observer);
        scheduler.RunUntilIdle();
        observer.Messages.AssertEqual(OnNext(100, 2), OnNext(150, 3));
        Assert.That(xs.Messages, Has.Count.EqualTo(3), "the script itself is kept whole");
    }

    [Test]
    public void Hot_SharesOneTimelineBetweenSubscribers_AndHonoursDisposalDuringDelivery()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, 1), OnNext(220, 2));
        var first = scheduler.CreateObserver<int>();
        var second = scheduler.CreateObserver<int>();
        IDisposable? secondSubscription = null;
        // The first observer disposes the second when it sees 1: the second must not get 1.
        xs.Subscribe(x =>
        {
            first.OnNext(x);
            secondSubscription!.Dispose();
        });
        secondSubscription = xs.Subscribe(second);
        scheduler.RunUntilIdle();
        first.Messages.AssertEqual(OnNext(210, 1), OnNext(220, 2));
        Assert.That(second.Messages, Is.Empty);
        xs.Subscriptions.AssertEqual(Subscribe(0), Subscribe(0, 210));
    }

    [Test]
    public void ErrorsAreReplayedFromTheScript()
    {
        var scheduler = new TestScheduler();
        var boom = new InvalidOperationException("boom");
        var xs = scheduler.CreateColdObservable(OnNext(10, 1), OnError<int>(20, boom));
        var observer = scheduler.Start(() => xs);
        observer.Messages.AssertEqual(OnNext(210, 1), OnError<int>(220, boom));
        Assert.That(observer.Messages[1].Value.Exception, Is.SameAs(boom));
    }

    [Test]
    public void Scripts_RejectExpectationsThatCannotBePlayed()
    {
        var scheduler = new TestScheduler();
        Assert.That(() => scheduler.CreateHotObservable(OnNext<int>(10, x => x > 0)), Throws.ArgumentException);
        Assert.That(() => scheduler.CreateColdObservable(OnError<int>(10, typeof(Exception))), Throws.ArgumentException);
        Assert.That(() => scheduler.CreateColdObservable(OnNext(-1, 1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Select_And_Where_KeepTheSourceTiming()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, 1), OnNext(220, 2), OnNext(230, 3), OnNext(240, 4), OnCompleted<int>(250));
        var observer = scheduler.Start(() => xs.Where(x => x % 2 == 0).Select(x => x * 10));
        observer.Messages.AssertEqual(OnNext(220, 20), OnNext(240, 40), OnCompleted<int>(250));
        xs.Subscriptions.AssertEqual(Subscribe(200, 250));
    }

    [Test]
    public void Delay_ShiftsByExactTicks()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, 1), OnNext(220, 2), OnCompleted<int>(230));
        var observer = scheduler.Start(() => xs.Delay(TimeSpan.FromTicks(55), scheduler));
        observer.Messages.AssertEqual(OnNext(265, 1), OnNext(275, 2), OnCompleted<int>(285));
    }

    [Test]
    public void Throttle_EmitsAfterExactQuietPeriod()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(
            OnNext(210, 1), OnNext(220, 2), OnNext(300, 3), OnNext(420, 4), OnNext(440, 5), OnCompleted<int>(600));
        var observer = scheduler.Start(() => xs.Throttle(TimeSpan.FromTicks(50), scheduler));
        observer.Messages.AssertEqual(OnNext(270, 2), OnNext(350, 3), OnNext(490, 5), OnCompleted<int>(600));
    }

    [Test]
    public void Timeout_FiresAtTheExactTick()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable(OnNext(210, 1), OnNext(400, 2));
        var observer = scheduler.Start(() => xs.Timeout(TimeSpan.FromTicks(100), scheduler));
        observer.Messages.AssertEqual(OnNext(210, 1), OnError<int>(310, typeof(TimeoutException)));
    }

    [Test]
    public void Interval_TicksUntilDisposed()
    {
        var scheduler = new TestScheduler();
        var observer = scheduler.Start(() => Observable.Interval(TimeSpan.FromTicks(300), scheduler), disposed: 1000);
        observer.Messages.AssertEqual(OnNext(500, 0L), OnNext(800, 1L));
    }

    [Test]
    public void Observer_StampsWithTheClock()
    {
        var scheduler = new TestScheduler();
        var observer = scheduler.CreateObserver<string>();
        scheduler.ScheduleAbsolute(5, () => observer.OnNext("x"));
        scheduler.ScheduleRelative(7, () => observer.OnCompleted());
        scheduler.RunUntilIdle();
        observer.Messages.AssertEqual(OnNext(5, "x"), OnCompleted<string>(7));
    }
}
