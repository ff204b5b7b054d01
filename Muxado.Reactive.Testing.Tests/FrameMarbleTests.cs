using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Tests;

/// <summary>Marbles whose values are the library's <see cref="Frame"/>s, as protocol tests use them.</summary>
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
        var wire = scheduler.CreateHotFrames("-s-w-d-r-f-g-|", Wire);
        var observer = scheduler.Start(() => wire.Where(f => f.Type == FrameType.Data && f.StreamId == 3));
        observer.Messages.ExpectFrames("-s---d---f---|", Wire);
        RecordedAssert.AreEqual(
            [
                OnNext(210, Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn)),
                OnNext(250, Frame.Data(3, "there"u8.ToArray())),
                OnNext(290, Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)),
                OnCompleted<Frame>(330),
            ],
            observer.Messages);
    }

    [Test]
    public void LiteralsAndLegendCharacters_AreTheSameFrames()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotFrames("-s-[WNDINC 3 1024]-[DATA 3 'there']-|", Wire);
        var observer = scheduler.Start(() => wire);
        observer.Messages.ExpectFrames("-[SYN 3 \"hi\"]-w-d-|", Wire);
        observer.Messages.ExpectFrames("-[SYN 3 \"hi\"]-[WNDINC 3 1024]-[DATA 3 \"there\"]-|");
    }

    [Test]
    public void FramesCompareByBytes_NotByBuffer()
    {
        var scheduler = new TestScheduler();
        var copy = new Dictionary<char, Frame> { ['s'] = Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn) };
        var wire = scheduler.CreateHotFrames("-s|", Wire);
        var observer = scheduler.Start(() => wire);
        Assert.That(copy['s'].Payload, Is.Not.EqualTo(Wire['s'].Payload), "two buffers: ReadOnlyMemory's own equality tells them apart");
        observer.Messages.ExpectFrames("-s|", copy);
        // Microsoft.Reactive.Testing's own assertion agrees, through Frame's value equality.
        observer.Messages.AssertEqual(OnNext(210, copy['s']), OnCompleted<Frame>(220));
    }

    [Test]
    public void AWrongFrame_FailsWithBothTimelinesDrawnAndTheFramesListed()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotFrames("-s-w|", Wire);
        var observer = scheduler.Start(() => wire);
        var withS = new Dictionary<char, Frame>(Wire) { ['S'] = Frame.Rst(9, ErrorCode.StreamClosed) };
        var failure = Assert.Throws<TestFailureException>(() => observer.Messages.ExpectFrames("-[SYN 3 \"ho\"]-w|", withS));
        var lines = failure!.Message.Split(Environment.NewLine);
        Assert.That(lines, Does.Contain("  expected: -[SYN 3 \"ho\"]-w|"));
        Assert.That(lines, Does.Contain("  actual:   -s-w|"), "the legend draws the frame it knows as its character");
        Assert.That(lines, Does.Contain("             ^ first difference"));
        Assert.That(lines, Does.Contain("  legend:   w = [WNDINC 3 1024]"), "only what the marbles name: the S of SYN is no legend entry");
        Assert.That(failure.Message, Does.Contain("[0] expected OnNext([SYN 3 \"ho\"])@210 but was OnNext([SYN 3 \"hi\"])@210"));
    }

    [Test]
    public void AFrameOutsideACharacterMap_CannotBeDrawnByPlainMarbles()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotObservable("-s|", Wire);
        var observer = scheduler.Start(() => wire);
        var other = new Dictionary<char, Frame> { ['s'] = Frame.Data(3, "ho"u8.ToArray(), FrameFlags.Syn) };
        var failure = Assert.Throws<TestFailureException>(() => observer.Messages.ExpectMarbles("-s|", other));
        Assert.That(failure!.Message, Does.Contain("actual:   (cannot be drawn as marbles"), "\"hi\" has no character in that map");
        Assert.That(failure.Message, Does.Contain("expected OnNext(DATA[3 SYN] \"ho\")@210 but was OnNext(DATA[3 SYN] \"hi\")@210"));
    }

    [Test]
    public void ARepliedFrameWithinItsFrame_LandsOnTheExpectedFrame()
    {
        // A stand-in for a session that answers each DATA with a WNDINC a few scheduler hops later.
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateHotFrames("-s---d--|", Wire);
        var replies = scheduler.Start(() => wire
            .Where(f => f.Type == FrameType.Data)
            .Select(f => Frame.WndInc(f.StreamId, 1024))
            .Delay(TimeSpan.FromTicks(3), scheduler));
        Assert.That(replies.Messages[0].Time, Is.EqualTo(213));
        replies.Messages.ExpectFrames("-w---w--|", Wire);
    }

    [Test]
    public void GroupedFrames_ArriveInOrderAtOneInstant()
    {
        var scheduler = new TestScheduler();
        var wire = scheduler.CreateColdFrames("--(sdf)|", Wire);
        var observer = scheduler.Start(() => wire);
        observer.Messages.AssertEqual(
            OnNext(220, Wire['s']), OnNext(220, Wire['d']), OnNext(220, Wire['f']), OnCompleted<Frame>(270));
    }

    [Test]
    public void Render_DrawsLegendCharactersLiteralsGroupsAndLongQuietAsTime()
    {
        var frames = new[]
        {
            OnNext(200, Wire['s']),
            OnNext(213, Frame.WndInc(3, 2)),
            OnNext(215, Wire['d']),
            OnNext(200 + TimeSpan.TicksPerSecond, Wire['f']),
            OnCompleted<Frame>(210 + TimeSpan.TicksPerSecond),
        };
        Assert.That(FrameMarbles.Render(frames, Wire), Is.EqualTo("s([WNDINC 3 2]d) 9999950tk f|"));
        var tens = new MarbleTiming(0, TimeSpan.TicksPerMillisecond);
        Assert.That(
            FrameMarbles.Render([OnNext(0, Wire['s']), OnNext(2 * TimeSpan.TicksPerMillisecond, Wire['w']), OnNext(TimeSpan.TicksPerSecond, Wire['f'])], Wire, tens),
            Is.EqualTo("s-w 997ms f"));
        Assert.That(FrameMarbles.Parse("s-w 997ms f", Wire, timing: tens).Select(m => m.Time), Is.EqualTo(new[] { 0, 2 * TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond }));
    }

    [Test]
    public void Render_GivesUpOnEventsItCannotPlace()
    {
        Assert.That(FrameMarbles.Render([OnNext(190, Wire['s'])], Wire), Is.Null, "before time zero");
        Assert.That(FrameMarbles.Render([OnNext(200, Wire['s']), OnNext(200, Wire['d']), OnNext(210, Wire['f'])], Wire), Is.Null,
            "the group (sd) lasts four frames, and f comes one frame later");
    }

    [Test]
    public void AFrameMarbleError_IsATransportFailure()
    {
        var scheduler = new TestScheduler();
        var reset = new IOException("connection reset");
        var wire = scheduler.CreateHotFrames("-s-#", Wire, reset);
        var observer = scheduler.Start(() => wire);
        observer.Messages.ExpectFrames("-s-#", Wire, new IOException("connection reset"));
        Assert.That(observer.Messages[1].Value.Exception, Is.SameAs(reset));
    }

    [Test]
    public void ABadLiteral_IsAMarbleFormatErrorAtItsPosition()
    {
        var error = Assert.Throws<MarbleFormatException>(() => FrameMarbles.Parse("--[WNDINC 3]"));
        Assert.That(error!.Position, Is.EqualTo(2));
        Assert.That(error.Reason, Does.Contain("WNDINC <stream> <increment>"));
        Assert.That(() => FrameMarbles.Parse("-x"), Throws.TypeOf<MarbleFormatException>().With.Property("Reason").Contains("'x' has no entry"));
    }
}
