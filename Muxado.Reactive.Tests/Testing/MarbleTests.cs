using System.Reactive.Linq;
using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

[TestFixture]
public class MarbleTests
{
    [Test]
    public void DashesAreFrames_EventsTakeAFrame_TimeZeroIsTheOrigin()
    {
        Marbles.Parse("-a-b-|").AssertEqual(OnNext(210, "a"), OnNext(230, "b"), OnCompleted<string>(250));
    }

    [Test]
    public void ValueMap_GivesCharactersTheirValues()
    {
        var values = new Dictionary<char, int> { ['a'] = 1, ['b'] = 2 };
        Marbles.Parse("a-b|", values).AssertEqual(OnNext(200, 1), OnNext(220, 2), OnCompleted<int>(230));
    }

    [Test]
    public void DigitsAndOtherCharactersAreValuesToo()
    {
        Marbles.Parse("1 x").AssertEqual(OnNext(200, "1"), OnNext(210, "x"));
    }

    [Test]
    public void Hash_IsTheDefaultMarbleError()
    {
        var messages = Marbles.Parse("--#");
        messages.AssertEqual(OnError<string>(220, new MarbleException()));
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
        Marbles.Parse("--a-^-b-|").AssertEqual(OnNext(180, "a"), OnNext(220, "b"), OnCompleted<string>(240));
    }

    [Test]
    public void Group_HappensAtItsOpeningParen_AndLastsOneFramePerCharacter()
    {
        Marbles.Parse("a(bc)d|").AssertEqual(
            OnNext(200, "a"), OnNext(210, "b"), OnNext(210, "c"), OnNext(250, "d"), OnCompleted<string>(260));
        Marbles.Parse("(a|)").AssertEqual(OnNext(200, "a"), OnCompleted<string>(200));
    }

    [TestCase("a 10ms b", 100_210)]
    [TestCase("a 1.5s b", 15_000_210)]
    [TestCase("a 2m b", 1_200_000_210)]
    [TestCase("a 5tk b", 215)]
    [TestCase("a 0.5ms b", 5_210)]
    public void TimeProgression_AdvancesByItsDurationWithoutTakingAFrame(string marbles, long timeOfB)
    {
        Marbles.Parse(marbles).AssertEqual(OnNext(200, "a"), OnNext(timeOfB, "b"));
    }

    [Test]
    public void TimeProgression_AtTheStart()
    {
        Marbles.Parse("1s a").AssertEqual(OnNext(10_000_200, "a"));
    }

    [Test]
    public void TimeProgression_NeedsSpacesAround_OtherwiseItIsValues()
    {
        Marbles.Parse("a10ms").AssertEqual(OnNext(200, "a"), OnNext(210, "1"), OnNext(220, "0"), OnNext(230, "m"), OnNext(240, "s"));
        Marbles.Parse("a 1 b").AssertEqual(OnNext(200, "a"), OnNext(210, "1"), OnNext(220, "b"));
    }

    [Test]
    public void WhitespaceIsIgnored()
    {
        Marbles.Parse("  a  -  b  ").AssertEqual(Marbles.Parse("a-b"));
        Marbles.Parse("  ^ a").AssertEqual(OnNext(210, "a"));
    }

    [Test]
    public void OriginAndFrameLength_ArePerCall()
    {
        Marbles.Parse("-a|", origin: 0, ticksPerFrame: 1).AssertEqual(OnNext(1, "a"), OnCompleted<string>(2));
    }

    [Test]
    public void OriginAndFrameLength_ComeFromTheScheduler()
    {
        var scheduler = new TestScheduler { MarbleOrigin = 0, TicksPerFrame = 100 };
        scheduler.ParseMarbles("-a|").AssertEqual(OnNext(100, "a"), OnCompleted<string>(200));
        Assert.That(() => scheduler.TicksPerFrame = 0, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Cold_IsRelativeToEachSubscription()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateColdObservable("-a-|");
        xs.Messages.AssertEqual(OnNext(10, "a"), OnCompleted<string>(30));
        var observer = scheduler.Start(() => xs.Select(x => x.ToUpperInvariant()));
        scheduler.ExpectMarbles(observer.Messages, "-A-|");
        scheduler.ExpectSubscriptions(xs.Subscriptions, "^--!");
    }

    [Test]
    public void Hot_WithCaret_LinesUpWithStart()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-^-b-|");
        var observer = scheduler.Start(() => xs);
        observer.Messages.AssertEqual(OnNext(220, "b"), OnCompleted<string>(240));
        scheduler.ExpectMarbles(observer.Messages, "--b-|");
        scheduler.ExpectMarbles(observer.Messages, "---^-b-|");
        xs.Subscriptions.AssertEqual(Subscribe(200, 1000));
    }

    [TestCase("^---!", 200, 240)]
    [TestCase("--^--!", 220, 250)]
    [TestCase("(^!)", 200, 200)]
    [TestCase("^ 10tk !", 200, 220)]
    [TestCase("--^--", 220, Subscription.Infinite)]
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
        scheduler.ExpectMarbles(observer.Messages, "--a--a|");
        scheduler.ExpectSubscriptions(xs.Subscriptions, "^--!", "---^--!");
        Assert.Throws<AssertionException>(() => scheduler.ExpectSubscriptions(xs.Subscriptions, "^--!"));
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
    }

    [Test]
    public void ExpectMarbles_Fails_DrawingTheActualTimeline()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-(bc)-|");
        var observer = scheduler.Start(() => xs);
        scheduler.ExpectMarbles(observer.Messages, "-a-(bc)-|");
        var failure = Assert.Throws<AssertionException>(() => scheduler.ExpectMarbles(observer.Messages, "-a-b-c-|"));
        Assert.That(failure!.Message, Does.Contain("expected: \"-a-b-c-|\""));
        Assert.That(failure.Message, Does.Contain("actual:   \"-a-(bc)-|\""));
        Assert.That(failure.Message, Does.Contain("[2] expected OnNext(c)@250 but was OnNext(c)@230"));
    }

    [Test]
    public void ExpectMarbles_Errors_MatchByTypeAndMessage()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-#", new TimeoutException("late"));
        var observer = scheduler.Start(() => xs);
        scheduler.ExpectMarbles(observer.Messages, "-a-#", new TimeoutException("late"));
        Assert.Throws<AssertionException>(() => scheduler.ExpectMarbles(observer.Messages, "-a-#", new TimeoutException("early")));
        Assert.Throws<AssertionException>(() => scheduler.ExpectMarbles(observer.Messages, "-a-#"));
    }

    [Test]
    public void ExpectMarbles_WithTimerOperators()
    {
        var scheduler = new TestScheduler();
        var xs = scheduler.CreateHotObservable("-a-b-------c---|");
        var observer = scheduler.Start(() => xs.Throttle(TimeSpan.FromTicks(30), scheduler));
        scheduler.ExpectMarbles(observer.Messages, "------b-------c|");
        var delayed = new TestScheduler();
        var ys = delayed.CreateHotObservable("-a-b|");
        var shifted = delayed.Start(() => ys.Delay(TimeSpan.FromTicks(20), delayed));
        delayed.ExpectMarbles(shifted.Messages, "---a-b|");
    }
}
