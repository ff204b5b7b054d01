using System.Reactive.Linq;
using Muxado.Reactive.Frames;
using NUnit.Framework;
using static Muxado.Reactive.Tests.Testing.ReactiveTest;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>The kit with the library's <see cref="Frame"/> as marble values, as protocol tests will use it.</summary>
[TestFixture]
public class FrameMarbleTests
{
    private static readonly Dictionary<char, Frame> Wire = new()
    {
        ['s'] = Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn),
        ['d'] = Frame.Data(3, "there"u8.ToArray()),
        ['f'] = Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        ['w'] = Frame.WndInc(3, 1024),
        ['r'] = Frame.Rst(5, ErrorCode.StreamClosed),
        ['g'] = Frame.GoAway(3, ErrorCode.NoError, "bye"),
    };

    [Test]
    public void FramesArriveAtTheirMarbleTimes()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotObservable("-s-w-d-r-f-g-|", Wire);
        var observer = scheduler.Start(() => wire.Where(f => f.Type == FrameType.Data && f.StreamId == 3));
        scheduler.ExpectMarbles(observer.Messages, "-s---d---f---|", Wire);
        observer.Messages.AssertEqual(
            OnNext(210, Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn)),
            OnNext(250, Frame.Data(3, "there"u8.ToArray())),
            OnNext(290, Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)),
            OnCompleted<Frame>(330));
    }

    [Test]
    public void FramesCompareByBytes_NotByBuffer()
    {
        var scheduler = new TestScheduler();
        var copy = new Dictionary<char, Frame> { ['s'] = Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn) };
        var wire = scheduler.CreateHotObservable("-s|", Wire);
        var observer = scheduler.Start(() => wire);
        scheduler.ExpectMarbles(observer.Messages, "-s|", copy);
    }

    [Test]
    public void AWrongFrame_FailsWithTheFrameText()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotObservable("-s|", Wire);
        var observer = scheduler.Start(() => wire);
        var other = new Dictionary<char, Frame> { ['s'] = Frame.Data(3, "ho"u8.ToArray(), FrameFlags.Syn) };
        var failure = Assert.Throws<AssertionException>(() => scheduler.ExpectMarbles(observer.Messages, "-s|", other));
        Assert.That(failure!.Message, Does.Contain("expected OnNext(DATA[3 SYN] \"ho\")@210 but was OnNext(DATA[3 SYN] \"hi\")@210"));
        Assert.That(failure.Message, Does.Contain("actual:   (cannot be drawn as marbles)"), "\"hi\" has no character in that map");
    }

    [Test]
    public void ARepliedFrameAfterADelay_LandsOnTheExpectedFrame()
    {
        // A stand-in for a session that answers each DATA with a WNDINC two frames later.
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotObservable("-s---d--|", Wire);
        var replies = scheduler.Start(() => wire
            .Where(f => f.Type == FrameType.Data)
            .Select(f => Frame.WndInc(f.StreamId, 1024))
            .Delay(TimeSpan.FromTicks(2 * scheduler.TicksPerFrame), scheduler));
        scheduler.ExpectMarbles(replies.Messages, "---w---w--|", Wire);
    }

    [Test]
    public void GroupedFrames_ArriveInOrderAtOneInstant()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateColdObservable("--(sdf)|", Wire);
        var observer = scheduler.Start(() => wire);
        observer.Messages.AssertEqual(
            OnNext(220, Wire['s']), OnNext(220, Wire['d']), OnNext(220, Wire['f']), OnCompleted<Frame>(270));
    }
}
