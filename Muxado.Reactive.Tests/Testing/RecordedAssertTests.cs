using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

[TestFixture]
public class RecordedAssertTests
{
    [Test]
    public void EqualSequences_Pass()
    {
        var actual = new[] { OnNext(210, "a"), OnCompleted<string>(250) };
        actual.AssertEqual(OnNext(210, "a"), OnCompleted<string>(250));
        RecordedAssert.AreEqual(actual.ToList(), actual);
        Array.Empty<Subscription>().AssertEqual();
    }

    [Test]
    public void ExpectationsMayMatchLoosely()
    {
        var actual = new[] { OnNext(210, 7), OnError<int>(220, new TimeoutException("late")) };
        actual.AssertEqual(OnNext<int>(210, x => x > 5), OnError<int>(220, typeof(TimeoutException)));
    }

    [Test]
    public void WrongTime_FailsWithBothSequencesSideBySide()
    {
        var actual = new[] { OnNext(210, "a"), OnNext(230, "b"), OnCompleted<string>(250) };
        var failure = Assert.Throws<AssertionException>(() =>
            actual.AssertEqual(OnNext(210, "a"), OnNext(220, "b"), OnCompleted<string>(250)));
        var message = failure!.Message;
        Assert.That(message, Does.Contain("expected 3 items, actual 3"));
        Assert.That(message, Does.Contain("[1] expected OnNext(b)@220 but was OnNext(b)@230"));
        Assert.That(message, Does.Match(@"> +1 +OnNext\(b\)@220 +\| OnNext\(b\)@230"));
        Assert.That(message, Does.Match(@"\n +0 +OnNext\(a\)@210 +\| OnNext\(a\)@210"), "matching rows are not marked");
    }

    [Test]
    public void DifferentLengths_FailAndShowTheMissingItems()
    {
        var actual = new[] { OnNext(210, 1) };
        var failure = Assert.Throws<AssertionException>(() => actual.AssertEqual(OnNext(210, 1), OnCompleted<int>(300)));
        Assert.That(failure!.Message, Does.Contain("expected 2 items, actual 1"));
        Assert.That(failure.Message, Does.Contain("[1] expected OnCompleted()@300 but was (nothing)"));
    }

    [Test]
    public void ErrorMismatch_ShowsExceptionTypeAndMessage()
    {
        var actual = new[] { OnError<int>(300, new InvalidOperationException("stream reset")) };
        var failure = Assert.Throws<AssertionException>(() =>
            actual.AssertEqual(OnError<int>(300, new InvalidOperationException("session closed"))));
        Assert.That(failure!.Message, Does.Contain("OnError(InvalidOperationException: session closed)@300"));
        Assert.That(failure.Message, Does.Contain("OnError(InvalidOperationException: stream reset)@300"));
    }

    [Test]
    public void Subscriptions_FailWithReadableText_AndCustomHeader()
    {
        var failure = Assert.Throws<AssertionException>(() =>
            RecordedAssert.AreEqual(new[] { Subscribe(200, 1000) }, new[] { Subscribe(200) }, "stream 3 subscriptions"));
        Assert.That(failure!.Message.TrimStart(), Does.StartWith("stream 3 subscriptions"));
        Assert.That(failure.Message, Does.Contain("[0] expected (200, 1000) but was (200, Infinite)"));
    }
}
