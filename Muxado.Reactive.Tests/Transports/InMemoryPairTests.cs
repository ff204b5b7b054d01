using System.Reactive.Concurrency;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>The in-memory transport pair, mostly in virtual time so that "when" is exact.</summary>
[TestFixture]
public sealed class InMemoryPairTests
{
    private static readonly Frame Hello = Frame.Data(3, Encoding.ASCII.GetBytes("hello"), FrameFlags.Syn);
    private static readonly Frame Credit = Frame.WndInc(3, 100);

    private static void RunDue(HistoricalScheduler scheduler) => scheduler.AdvanceBy(TimeSpan.FromTicks(1));

    [Test]
    public void Nothing_arrives_until_the_scheduler_runs_and_then_everything_in_order()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);

        var frames = Enumerable.Range(1, 50).Select(i => Frame.Data((uint)i, new[] { (byte)i })).ToArray();
        foreach (var frame in frames)
        {
            left.Outbound.OnNext(frame);
        }
        Assert.That(atRight.Count, Is.Zero, "never delivered inside OnNext");

        RunDue(scheduler);
        Assert.That(atRight.Frames, Is.EqualTo(frames));
        Assert.That(atRight.GrammarBroken, Is.False);
    }

    [Test]
    public void Two_ends_that_answer_inside_OnNext_do_not_reenter_each_other()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        int depth = 0;
        int maxDepth = 0;
        void Answer(FrameTransport self, Frame frame)
        {
            maxDepth = Math.Max(maxDepth, ++depth);
            if (frame.Increment < 10)
            {
                self.Outbound.OnNext(Frame.WndInc(1, frame.Increment + 1));
            }
            depth--;
        }
        var atLeft = new RecordingObserver { OnFrame = f => Answer(left, f) };
        var atRight = new RecordingObserver { OnFrame = f => Answer(right, f) };
        using var l = left.Inbound.Subscribe(atLeft);
        using var r = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Frame.WndInc(1, 1));
        for (int i = 0; i < 20 && atLeft.Count + atRight.Count < 10; i++)
        {
            RunDue(scheduler);
        }

        Assert.That(atRight.Frames.Select(f => f.Increment), Is.EqualTo(new uint[] { 1, 3, 5, 7, 9 }));
        Assert.That(atLeft.Frames.Select(f => f.Increment), Is.EqualTo(new uint[] { 2, 4, 6, 8, 10 }));
        Assert.That(maxDepth, Is.EqualTo(1));
    }

    [Test]
    public void The_payload_is_copied_when_it_is_sent()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);
        byte[] buffer = Encoding.ASCII.GetBytes("original");

        left.Outbound.OnNext(Frame.Data(1, buffer));
        Array.Fill(buffer, (byte)'X');
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Frame.Data(1, Encoding.ASCII.GetBytes("original")) }));
    }

    [Test]
    public void Frames_sent_before_the_peer_subscribes_are_kept_for_it()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        left.Outbound.OnNext(Hello);
        left.Outbound.OnNext(Credit);
        left.Outbound.OnCompleted();
        RunDue(scheduler);

        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);
        Assert.That(atRight.Count, Is.Zero);
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello, Credit }));
        Assert.That(atRight.Done.IsCompletedSuccessfully && atRight.Done.Result is null, Is.True, "completed after the frames");
    }

    [Test]
    public void OnCompleted_is_a_half_close()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atLeft = new RecordingObserver();
        var atRight = new RecordingObserver();
        using var l = left.Inbound.Subscribe(atLeft);
        using var r = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Hello);
        left.Outbound.OnCompleted();
        left.Outbound.OnNext(Credit); // after completion: ignored
        right.Outbound.OnNext(Credit); // the other direction still works
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(atRight.IsDone && atRight.Done.Result is null, Is.True);
        Assert.That(atLeft.Frames, Is.EqualTo(new[] { Credit }));
        Assert.That(atLeft.IsDone, Is.False);
    }

    [Test]
    public void OnError_fails_the_peer_with_PeerEOF_after_the_frames_already_sent_and_ends_this_end()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atLeft = new RecordingObserver();
        var atRight = new RecordingObserver();
        using var l = left.Inbound.Subscribe(atLeft);
        using var r = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Hello);
        left.Outbound.OnError(new InvalidOperationException("session died"));
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }));
        var error = atRight.Done.Result;
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Does.Contain("session died"));
        Assert.That(atLeft.IsDone && atLeft.Done.Result is null, Is.True);
    }

    [Test]
    public async Task Dispose_ends_both_Inbounds()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atLeft = new RecordingObserver();
        var atRight = new RecordingObserver();
        using var l = left.Inbound.Subscribe(atLeft);
        using var r = right.Inbound.Subscribe(atRight);
        right.Outbound.OnNext(Credit); // not yet delivered to left: dropped by left's close

        left.Outbound.OnNext(Hello);
        await left.DisposeAsync();
        await left.DisposeAsync();
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }), "sent before the close: still delivered, like data before a FIN");
        Assert.That(atRight.IsDone && atRight.Done.Result is null, Is.True);
        Assert.That(atLeft.Frames, Is.Empty);
        Assert.That(atLeft.IsDone && atLeft.Done.Result is null, Is.True);
        Assert.That(() => right.Outbound.OnNext(Credit), Throws.Nothing);
    }

    [Test]
    public void The_reader_limits_apply_as_on_a_wire()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler, FrameReaderLimits.Default with { MaxDataLength = 4 });
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Frame.Data(1, new byte[300]));
        left.Outbound.OnNext(Frame.Data(1, new byte[4]));
        RunDue(scheduler);

        var frames = atRight.Frames;
        Assert.That(frames, Has.Length.EqualTo(2));
        Assert.That(frames[0].IsTruncated, Is.True);
        Assert.That(frames[0].Length, Is.EqualTo(300));
        Assert.That(frames[1], Is.EqualTo(Frame.Data(1, new byte[4])));
    }

    [Test]
    public void A_frame_a_real_peer_would_reject_fails_the_receiver_and_nothing_after_it_arrives()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Hello);
        // Only the codec can build one (the public factories validate): a WNDINC with increment 0.
        left.Outbound.OnNext(Frame.Decoded(FrameType.WndInc, FrameFlags.None, 3, default, 0, 0, 4));
        left.Outbound.OnNext(Credit);
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(atRight.Done.Result, Is.TypeOf<MuxadoFrameException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public async Task PendingWriteBytes_counts_frames_not_yet_delivered()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Hello);
        left.Outbound.OnNext(Credit);
        Assert.That(left.PendingWriteBytes, Is.EqualTo(Hello.WireLength + Credit.WireLength));
        var drained = left.WaitForWriteSpaceAsync(0).AsTask();
        Assert.That(drained.IsCompleted, Is.False);

        RunDue(scheduler);
        await drained.WaitAsync(RecordingObserver.Timeout);
        Assert.That(left.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public void A_second_subscription_throws()
    {
        var (left, _) = FrameTransport.CreateInMemoryPair(new HistoricalScheduler());
        using var first = left.Inbound.Subscribe(new RecordingObserver());
        Assert.That(() => left.Inbound.Subscribe(new RecordingObserver()), Throws.InvalidOperationException);
    }

    [Test]
    public void Disposing_the_subscription_stops_delivery()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atRight = new RecordingObserver();
        var subscription = right.Inbound.Subscribe(atRight);
        left.Outbound.OnNext(Hello);
        RunDue(scheduler);

        subscription.Dispose();
        left.Outbound.OnNext(Credit);
        left.Outbound.OnCompleted();
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(atRight.IsDone, Is.False);
        Assert.That(left.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public void An_observer_that_throws_closes_its_end_and_the_peer_sees_end_of_stream()
    {
        var scheduler = new HistoricalScheduler();
        var (left, right) = FrameTransport.CreateInMemoryPair(scheduler);
        var atLeft = new RecordingObserver();
        var atRight = new RecordingObserver { OnFrame = _ => throw new InvalidOperationException("observer bug") };
        using var l = left.Inbound.Subscribe(atLeft);
        using var r = right.Inbound.Subscribe(atRight);

        left.Outbound.OnNext(Hello);
        left.Outbound.OnNext(Credit);
        RunDue(scheduler);

        Assert.That(atRight.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(atRight.IsDone, Is.False);
        Assert.That(atLeft.IsDone && atLeft.Done.Result is null, Is.True);
    }

    [Test]
    public async Task On_the_default_scheduler_many_frames_arrive_in_order_then_completion()
    {
        var (left, right) = FrameTransport.CreateInMemoryPair();
        var atRight = new RecordingObserver();
        using var _ = right.Inbound.Subscribe(atRight);
        var frames = Enumerable.Range(1, 5000).Select(i => Frame.WndInc(1, (uint)i)).ToArray();

        foreach (var frame in frames)
        {
            left.Outbound.OnNext(frame);
        }
        left.Outbound.OnCompleted();

        Assert.That(await atRight.WaitDoneAsync(), Is.Null);
        Assert.That(atRight.Frames, Is.EqualTo(frames));
        Assert.That(atRight.GrammarBroken, Is.False);
    }

    [Test]
    public void Negative_limits_are_rejected()
    {
        Assert.That(() => FrameTransport.CreateInMemoryPair(limits: FrameReaderLimits.Default with { MaxDebugLength = -1 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
