using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class RecordedAssertTests
{
    [Test]
    public void EqualSequences_Pass()
    {
        var actual = new[] { OnNext(210, "a"), OnCompleted<string>(250) };
        RecordedAssert.AreEqual([OnNext(210, "a"), OnCompleted<string>(250)], actual);
        RecordedAssert.AreEqual(actual.ToList(), actual);
        RecordedAssert.AreEqual(Array.Empty<Subscription>(), []);
    }

    [Test]
    public void PredicateExpectationsOfMicrosoftReactiveTesting_AreAsked()
    {
        var actual = new[] { OnNext(210, 7), OnError<int>(220, new TimeoutException("late")) };
        RecordedAssert.AreEqual([OnNext<int>(210, x => x > 5), OnError<int>(220, e => e is TimeoutException)], actual);
        var failure = Assert.Throws<TestFailureException>(() =>
            RecordedAssert.AreEqual([OnNext<int>(210, x => x > 7), OnError<int>(220, e => e is TimeoutException)], actual));
        Assert.That(failure!.Message, Does.Contain("[0] expected OnNext(<predicate>)@210 but was OnNext(7)@210"));
    }

    [Test]
    public void Errors_MatchByTypeAndMessage_NotOnlyByIdentity()
    {
        var actual = new[] { OnError<int>(300, new InvalidOperationException("boom")) };
        RecordedAssert.AreEqual([OnError<int>(300, new InvalidOperationException("boom"))], actual);
        Assert.Throws<TestFailureException>(() => RecordedAssert.AreEqual([OnError<int>(300, new InvalidOperationException("bang"))], actual));
        Assert.Throws<TestFailureException>(() => RecordedAssert.AreEqual([OnError<int>(300, new ArgumentException("boom"))], actual));
        Assert.Throws<TestFailureException>(() => RecordedAssert.AreEqual([OnError<int>(301, new InvalidOperationException("boom"))], actual));
        Assert.Throws<TestFailureException>(() => RecordedAssert.AreEqual([OnCompleted<int>(300)], actual));
    }

    [Test]
    public void WrongTime_FailsWithBothSequencesSideBySide()
    {
        var actual = new[] { OnNext(210, "a"), OnNext(230, "b"), OnCompleted<string>(250) };
        var failure = Assert.Throws<TestFailureException>(() =>
            RecordedAssert.AreEqual([OnNext(210, "a"), OnNext(220, "b"), OnCompleted<string>(250)], actual));
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
        var failure = Assert.Throws<TestFailureException>(() => RecordedAssert.AreEqual([OnNext(210, 1), OnCompleted<int>(300)], actual));
        Assert.That(failure!.Message, Does.Contain("expected 2 items, actual 1"));
        Assert.That(failure.Message, Does.Contain("[1] expected OnCompleted()@300 but was (nothing)"));
    }

    [Test]
    public void ErrorMismatch_ShowsExceptionTypeAndMessage()
    {
        var actual = new[] { OnError<int>(300, new InvalidOperationException("stream reset")) };
        var failure = Assert.Throws<TestFailureException>(() =>
            RecordedAssert.AreEqual([OnError<int>(300, new InvalidOperationException("session closed"))], actual));
        Assert.That(failure!.Message, Does.Contain("OnError(InvalidOperationException: session closed)@300"));
        Assert.That(failure.Message, Does.Contain("OnError(InvalidOperationException: stream reset)@300"));
    }

    [Test]
    public void Subscriptions_FailWithReadableText_AndCustomHeader()
    {
        var failure = Assert.Throws<TestFailureException>(() =>
            RecordedAssert.AreEqual([Subscribe(200, 1000)], [Subscribe(200)], "stream 3 subscriptions"));
        Assert.That(failure!.Message, Does.StartWith("stream 3 subscriptions"));
        Assert.That(failure.Message, Does.Contain("[0] expected (200, 1000) but was (200, never)"));
    }
}
