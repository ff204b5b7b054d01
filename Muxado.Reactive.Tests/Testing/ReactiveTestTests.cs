using System.Reactive;
using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

[TestFixture]
public class ReactiveTestTests
{
    [Test]
    public void Recorded_IsEqualOnlyWithSameTimeAndValue()
    {
        Assert.That(OnNext(210, 1), Is.EqualTo(OnNext(210, 1)));
        Assert.That(OnNext(210, 1) == OnNext(210, 1), Is.True);
        Assert.That(OnNext(210, 1), Is.Not.EqualTo(OnNext(211, 1)));
        Assert.That(OnNext(210, 1), Is.Not.EqualTo(OnNext(210, 2)));
        Assert.That(OnNext(210, 1), Is.Not.EqualTo(OnCompleted<int>(210)));
        Assert.That(OnCompleted<int>(5), Is.EqualTo(OnCompleted<int>(5)));
    }

    [Test]
    public void Recorded_ToStringShowsValueAndTime()
    {
        Assert.That(OnNext(210, 42).ToString(), Is.EqualTo("OnNext(42)@210"));
        Assert.That(OnCompleted<int>(250).ToString(), Is.EqualTo("OnCompleted()@250"));
        Assert.That(OnError<int>(300, new InvalidOperationException("boom")).ToString(),
            Is.EqualTo("OnError(InvalidOperationException: boom)@300"));
        var actualError = new Recorded<Notification<int>>(300, Notification.CreateOnError<int>(new TimeoutException("late")));
        Assert.That(actualError.ToString(), Is.EqualTo("OnError(TimeoutException: late)@300"));
        Assert.That(new Recorded<string>(7, "x").ToString(), Is.EqualTo("x@7"));
    }

    [Test]
    public void Subscription_EqualityAndText()
    {
        Assert.That(Subscribe(200, 1000), Is.EqualTo(new Subscription(200, 1000)));
        Assert.That(Subscribe(200, 1000), Is.Not.EqualTo(Subscribe(200, 999)));
        Assert.That(Subscribe(200).Unsubscribe, Is.EqualTo(Subscription.Infinite));
        Assert.That(Subscribe(200).IsActive, Is.True);
        Assert.That(Subscribe(200, 1000).ToString(), Is.EqualTo("(200, 1000)"));
        Assert.That(Subscribe(200).ToString(), Is.EqualTo("(200, Infinite)"));
    }

    [Test]
    public void DefaultStartTimes()
    {
        Assert.That((Created, Subscribed, Disposed), Is.EqualTo((100L, 200L, 1000L)));
    }

    [Test]
    public void OnErrorWithException_MatchesSameTypeAndMessage_InEitherDirection()
    {
        var expected = OnError<int>(300, new InvalidOperationException("boom"));
        var actual = Actual(300, new InvalidOperationException("boom"));
        Assert.That(expected.Equals(actual), Is.True);
        Assert.That(actual.Equals(expected), Is.True);
        Assert.That(expected, Is.EqualTo(actual));
    }

    [Test]
    public void OnErrorWithException_RejectsOtherMessageTypeOrTime()
    {
        var expected = OnError<int>(300, new InvalidOperationException("boom"));
        Assert.That(expected.Equals(Actual(300, new InvalidOperationException("bang"))), Is.False);
        Assert.That(expected.Equals(Actual(300, new ArgumentException("boom"))), Is.False);
        Assert.That(expected.Equals(Actual(301, new InvalidOperationException("boom"))), Is.False);
        Assert.That(expected.Equals(OnCompleted<int>(300)), Is.False);
    }

    [Test]
    public void OnErrorWithType_MatchesInstancesAndDerivedTypes()
    {
        var expected = OnError<int>(10, typeof(ArgumentException));
        Assert.That(expected.Equals(Actual(10, new ArgumentException("x"))), Is.True);
        Assert.That(expected.Equals(Actual(10, new ArgumentNullException("p"))), Is.True);
        Assert.That(expected.Equals(Actual(10, new InvalidOperationException())), Is.False);
        Assert.That(() => OnError<int>(10, typeof(string)), Throws.ArgumentException);
    }

    [Test]
    public void OnErrorWithPredicate_MatchesWhatThePredicateAccepts()
    {
        var expected = OnError<int>(10, e => e.Message.StartsWith("stream", StringComparison.Ordinal));
        Assert.That(expected.Equals(Actual(10, new IOException("stream reset"))), Is.True);
        Assert.That(expected.Equals(Actual(10, new IOException("session closed"))), Is.False);
    }

    [Test]
    public void OnNextWithPredicate_MatchesValuesThePredicateAccepts()
    {
        var expected = OnNext<int>(10, x => x > 5);
        Assert.That(expected.Equals(OnNext(10, 6)), Is.True);
        Assert.That(OnNext(10, 6).Equals(expected), Is.True);
        Assert.That(expected.Equals(OnNext(10, 5)), Is.False);
        Assert.That(expected.Equals(OnCompleted<int>(10)), Is.False);
        Assert.That(expected.ToString(), Is.EqualTo("OnNext(<predicate>)@10"));
    }

    [Test]
    public void ReplayableErrorExpectation_DeliversItsException()
    {
        var error = new InvalidOperationException("boom");
        var observed = (Exception?)null;
        OnError<int>(0, error).Value.Accept(_ => { }, e => observed = e, () => { });
        Assert.That(observed, Is.SameAs(error));
    }

    [Test]
    public void PredicateExpectations_RefuseToBeReplayed()
    {
        var observer = Observer.Create<int>(_ => { });
        Assert.That(() => OnNext<int>(0, _ => true).Value.Accept(observer), Throws.InvalidOperationException);
        Assert.That(() => OnError<int>(0, typeof(Exception)).Value.Accept(observer), Throws.InvalidOperationException);
    }

    private static Recorded<Notification<int>> Actual(long time, Exception error) =>
        new(time, Notification.CreateOnError<int>(error));
}
