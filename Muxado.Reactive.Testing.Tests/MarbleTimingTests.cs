using Microsoft.Reactive.Testing;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

/// <summary>An expected event matches a recorded one at its marble time or up to one frame later, never earlier.</summary>
[TestFixture]
public class MarbleTimingTests
{
    [TestCase(210, true)]
    [TestCase(211, true)]
    [TestCase(219, true)]
    [TestCase(220, false)]
    [TestCase(209, false)]
    public void An_event_matches_within_its_frame(long recordedAt, bool matches)
    {
        Recorded<System.Reactive.Notification<string>>[] actual = [OnNext(recordedAt, "a")];
        if (matches)
        {
            actual.ExpectMarbles("-a");
        }
        else
        {
            Assert.Throws<TestFailureException>(() => actual.ExpectMarbles("-a"));
        }
    }

    [Test]
    public void Tick_precision_is_a_frame_of_one_tick()
    {
        Recorded<System.Reactive.Notification<string>>[] actual = [OnNext(203, "a")];
        actual.ExpectMarbles("---a", timing: new MarbleTiming(200, 1));
        Assert.Throws<TestFailureException>(() => actual.ExpectMarbles("--a", timing: new MarbleTiming(200, 1)));
    }

    [Test]
    public void A_recorded_event_is_drawn_in_the_frame_its_tick_falls_in()
    {
        var failure = Assert.Throws<TestFailureException>(() =>
            new[] { OnNext(213, "a"), OnNext(219, "b"), OnCompleted<string>(261) }.ExpectMarbles("-a-b|"));
        Assert.That(failure!.Message.Split(Environment.NewLine), Does.Contain("  actual:   -(ab)-|"));
    }

    [Test]
    public void Timing_describes_itself()
    {
        Assert.That(MarbleTiming.Default.ToString(), Is.EqualTo("time zero at tick 200, 10 ticks per frame"));
    }
}
