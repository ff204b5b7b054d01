using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class MarbleTests
{
    [Test]
    public void DashesAreFrames_EventsTakeAFrame_TimeZeroIsTheOrigin()
    {
        Expect(Marbles.Parse("-a-b-|"), OnNext(210, "a"), OnNext(230, "b"), OnCompleted<string>(250));
    }

    [Test]
    public void ValueMap_GivesCharactersTheirValues()
    {
        var values = new Dictionary<char, int> { ['a'] = 1, ['b'] = 2 };
        Expect(Marbles.Parse("a-b|", values), OnNext(200, 1), OnNext(220, 2), OnCompleted<int>(230));
    }

    [Test]
    public void DigitsAndOtherCharactersAreValuesToo()
    {
        Expect(Marbles.Parse("1 x"), OnNext(200, "1"), OnNext(210, "x"));
    }

    [Test]
    public void Hash_IsTheDefaultMarbleError()
    {
        var messages = Marbles.Parse("--#");
        Expect(messages, OnError<string>(220, new MarbleException()));
        Assert.That(messages[0].Value.Exception, Is.TypeOf<MarbleException>());
    }

    [Test]
    public void Hash_IsTheGivenError()
    {
        var error = new IOException("connection reset");
        var messages = Marbles.Parse("-#", error);
        Assert.That(messages[0].Time, Is.EqualTo(210));
        Assert.That(messages[0].Value.Exception, Is.SameAs(error));
    }

    [Test]
    public void Caret_IsTimeZero_AndWhatComesBeforeItIsNegative()
    {
        Expect(Marbles.Parse("--a-^-b-|"), OnNext(180, "a"), OnNext(220, "b"), OnCompleted<string>(240));
    }

    [Test]
    public void Group_HappensAtItsOpeningParen_AndLastsOneFramePerCharacter()
    {
        Expect(Marbles.Parse("a(bc)d|"), 
            OnNext(200, "a"), OnNext(210, "b"), OnNext(210, "c"), OnNext(250, "d"), OnCompleted<string>(260));
        Expect(Marbles.Parse("(a|)"), OnNext(200, "a"), OnCompleted<string>(200));
    }

    [TestCase("a 10ms b", 100_210)]
    [TestCase("a 1.5s b", 15_000_210)]
    [TestCase("a 2m b", 1_200_000_210)]
    [TestCase("a 5tk b", 215)]
    [TestCase("a 0.5ms b", 5_210)]
    public void TimeProgression_AdvancesByItsDurationWithoutTakingAFrame(string marbles, long timeOfB)
    {
        Expect(Marbles.Parse(marbles), OnNext(200, "a"), OnNext(timeOfB, "b"));
    }

    [Test]
    public void TimeProgression_AtTheStart()
    {
        Expect(Marbles.Parse("1s a"), OnNext(10_000_200, "a"));
    }

    [Test]
    public void TimeProgression_NeedsSpacesAround_OtherwiseItIsValues()
    {
        Expect(Marbles.Parse("a10ms"), OnNext(200, "a"), OnNext(210, "1"), OnNext(220, "0"), OnNext(230, "m"), OnNext(240, "s"));
        Expect(Marbles.Parse("a 1 b"), OnNext(200, "a"), OnNext(210, "1"), OnNext(220, "b"));
    }

    [Test]
    public void WhitespaceIsIgnored()
    {
        Expect(Marbles.Parse("  a  -  b  "), Marbles.Parse("a-b"));
        Expect(Marbles.Parse("  ^ a"), OnNext(210, "a"));
    }

    [Test]
    public void OriginAndFrameLength_ArePerCall()
    {
        Expect(Marbles.Parse("-a|", timing: new MarbleTiming(0, 1)), OnNext(1, "a"), OnCompleted<string>(2));
    }

    [Test]
    public void Timing_SetsOriginAndFrameLength_AndRefusesAnEmptyFrame()
    {
        Expect(Marbles.Parse("-a|", timing: new MarbleTiming(0, 100)), OnNext(100, "a"), OnCompleted<string>(200));
        Expect(Marbles.Parse("a", timing: MarbleTiming.At(5_000)), OnNext(5_000, "a"));
        Assert.That(() => Marbles.Parse("-a|", timing: new MarbleTiming(0, 0)), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Cold_IsRelativeToEachSubscription()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable("-a-|");
        Expect(xs.Messages, OnNext(10, "a"), OnCompleted<string>(30));
        var observer = scheduler.Start(() => xs.Select(x => x.ToUpperInvariant()));
        observer.Messages.ExpectMarbles("-A-|");
        xs.Subscriptions.ExpectSubscriptions("^--!");
    }

    [Test]
    public void Hot_WithCaret_LinesUpWithStart()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-^-b-|");
        var observer = scheduler.Start(() => xs);
        Expect(observer.Messages, OnNext(220, "b"), OnCompleted<string>(240));
        observer.Messages.ExpectMarbles("--b-|");
        observer.Messages.ExpectMarbles("---^-b-|");
        RecordedAssert.AreEqual([Subscribe(200, 1000)], xs.Subscriptions);
    }

    [TestCase("^---!", 200, 240)]
    [TestCase("--^--!", 220, 250)]
    [TestCase("(^!)", 200, 200)]
    [TestCase("^ 10tk !", 200, 220)]
    [TestCase("--^--", 220, Subscription.Infinite)]
    [TestCase("-(^!)", 210, 210)]
    public void SubscriptionMarbles(string marbles, long subscribe, long unsubscribe)
    {
        Assert.That(Marbles.ParseSubscription(marbles), Is.EqualTo(Subscribe(subscribe, unsubscribe)));
    }

    [Test]
    public void ExpectSubscriptions_ChecksEverySubscription()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable("--a|");
        var observer = scheduler.Start(() => xs.Concat(xs));
        observer.Messages.ExpectMarbles("--a--a|");
        xs.Subscriptions.ExpectSubscriptions("^--!", "---^--!");
        var failure = Assert.Throws<TestFailureException>(() => xs.Subscriptions.ExpectSubscriptions("^--!"));
        Assert.That(failure!.Message, Does.Contain("[1] expected (nothing) but was (230, 260)"));
    }

    [TestCase("a(b", 1, "never closed")]
    [TestCase("(a(b))", 2, "cannot be nested")]
    [TestCase("a)", 1, "without a matching '('")]
    [TestCase("(a-b)", 2, "'-' cannot be inside a group")]
    [TestCase("-()", 2, "empty group")]
    [TestCase("(a 10ms b)", 3, "time progression cannot be inside a group")]
    [TestCase("a!", 1, "only allowed in subscription marbles")]
    [TestCase("^-^", 2, "second '^'")]
    [TestCase("a 1.00001ms b", 2, "not a whole number of ticks")]
    [TestCase("a 99999999999999999999s", 2, "too long")]
    [TestCase("a[b", 1, "'[' is never closed")]
    [TestCase("a[\"b]", 1, "quote in this literal is never closed")]
    [TestCase("a]", 1, "']' without a matching '['")]
    [TestCase("-[]", 1, "empty literal")]
    public void MalformedHotMarbles_ReportWhereAndWhy(string marbles, int position, string reason)
    {
        var error = Assert.Throws<MarbleFormatException>(() => Marbles.Parse(marbles));
        Assert.That(error!.Position, Is.EqualTo(position));
        Assert.That(error.Reason, Does.Contain(reason));
        Assert.That(error.Marbles, Is.EqualTo(marbles));
    }

    [TestCase("--", 2, "need a '^'")]
    [TestCase("!^", 0, "before the '^'")]
    [TestCase("^a", 1, "only allow")]
    [TestCase("^[a]", 1, "literal in subscription marbles")]
    [TestCase("^!!", 2, "second '!'")]
    public void MalformedSubscriptionMarbles_ReportWhereAndWhy(string marbles, int position, string reason)
    {
        var error = Assert.Throws<MarbleFormatException>(() => Marbles.ParseSubscription(marbles));
        Assert.That(error!.Position, Is.EqualTo(position));
        Assert.That(error.Reason, Does.Contain(reason));
    }

    [Test]
    public void MalformedMessage_QuotesTheMarblesAndPointsAtTheCharacter()
    {
        var error = Assert.Throws<MarbleFormatException>(() => Marbles.Parse("--a-(b"));
        var lines = error!.Message.Split(Environment.NewLine);
        Assert.That(lines[0], Is.EqualTo("Malformed marbles at position 4: this '(' is never closed"));
        Assert.That(lines[1].IndexOf('(', StringComparison.Ordinal), Is.EqualTo(lines[2].IndexOf('^', StringComparison.Ordinal)));
    }

    [Test]
    public void Cold_RejectsCaret()
    {
        var scheduler = new TestScheduler();
        var error = Assert.Throws<MarbleFormatException>(() => scheduler.CreateColdObservable("-^-a"));
        Assert.That(error!.Position, Is.EqualTo(1));
    }

    [Test]
    public void ValueMissingFromTheMap_IsReportedAtItsPosition()
    {
        var error = Assert.Throws<MarbleFormatException>(() => Marbles.Parse("a-x", new Dictionary<char, int> { ['a'] = 1 }));
        Assert.That(error!.Position, Is.EqualTo(2));
        Assert.That(error.Reason, Does.Contain("'x' has no entry"));
    }

    [Test]
    public void ValueMap_CannotUseSyntaxCharacters()
    {
        Assert.That(() => Marbles.Parse("a", new Dictionary<char, int> { ['a'] = 1, ['|'] = 2 }), Throws.ArgumentException);
        Assert.That(() => Marbles.Parse("a", new Dictionary<char, int> { ['a'] = 1, ['['] = 2 }), Throws.ArgumentException);
    }

    [Test]
    public void Literals_AreTheirTextInStringMarbles_AndTakeOneFrame()
    {
        Expect(Marbles.Parse("-[hello]-[a b]|"), OnNext(210, "hello"), OnNext(230, "a b"), OnCompleted<string>(240));
        Expect(Marbles.Parse("([x]y)-z"), OnNext(200, "x"), OnNext(200, "y"), OnNext(250, "z"));
        Expect(Marbles.Parse("[\"]\"]"), OnNext(200, "\"]\""));
    }

    [Test]
    public void Literals_HaveNoMeaningInACharacterMap()
    {
        var error = Assert.Throws<MarbleFormatException>(() => Marbles.Parse("a[b]", new Dictionary<char, int> { ['a'] = 1 }));
        Assert.That(error!.Position, Is.EqualTo(1));
        Assert.That(error.Reason, Does.Contain("literal"));
    }

    [Test]
    public void ExpectMarbles_Fails_DrawingTheActualTimeline()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-(bc)-|");
        var observer = scheduler.Start(() => xs);
        observer.Messages.ExpectMarbles("-a-(bc)-|");
        var failure = Assert.Throws<TestFailureException>(() => observer.Messages.ExpectMarbles("-a-b-c-|"));
        var lines = failure!.Message.Split(Environment.NewLine);
        Assert.That(lines, Does.Contain("  expected: -a-b-c-|"));
        Assert.That(lines, Does.Contain("  actual:   -a-(bc)-|"));
        Assert.That(lines, Does.Contain("               ^ first difference"), "the caret sits under the first column that differs");
        Assert.That(failure.Message, Does.Contain("[2] expected OnNext(c)@250 but was OnNext(c)@230"));
    }

    [Test]
    public void ExpectMarbles_Errors_MatchByTypeAndMessage()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-#", new TimeoutException("late"));
        var observer = scheduler.Start(() => xs);
        observer.Messages.ExpectMarbles("-a-#", new TimeoutException("late"));
        Assert.Throws<TestFailureException>(() => observer.Messages.ExpectMarbles("-a-#", new TimeoutException("early")));
        Assert.Throws<TestFailureException>(() => observer.Messages.ExpectMarbles("-a-#"));
    }

    [Test]
    public void ExpectMarbles_WithTimerOperators()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-b-------c---|");
        var observer = scheduler.Start(() => xs.Throttle(TimeSpan.FromTicks(30), scheduler));
        observer.Messages.ExpectMarbles("------b-------c|");
        var delayed = new TestScheduler();
        var ys = delayed.CreateHotObservable("-a-b|");
        var shifted = delayed.Start(() => ys.Delay(TimeSpan.FromTicks(20), delayed));
        shifted.Messages.ExpectMarbles("---a-b|");
    }

    private static void Expect<T>(IEnumerable<Recorded<System.Reactive.Notification<T>>> actual, params Recorded<System.Reactive.Notification<T>>[] expected) =>
        RecordedAssert.AreEqual(expected, actual);
}
