using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

using Pattern = Muxado.Reactive.Interop.Pattern;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>Accept accounting, reset floods, observers without error handlers, a peer that stops reading.</summary>
public class SessionRobustnessTests
{
    [Test]
    public async Task A_server_looping_on_accept_holds_more_streams_than_the_backlog()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { AcceptBacklog = 4 });
        var accepted = new List<MuxStream>();
        var opened = new List<MuxStream>();
        for (int i = 0; i < 20; i++)
        {
            var accepting = pair.Server.AcceptAsync();
            opened.Add(pair.Client.Open());
            pair.RunUntilIdle();
            Assert.That(accepting.IsCompletedSuccessfully, Is.True, $"stream {i} was handed to the waiting accept");
            accepted.Add(accepting.Result);
        }
        Assert.That(pair.ServerFrames.Frames.Where(f => f.Type == FrameType.Rst), Is.Empty,
            "streams handed straight to an accept do not occupy the backlog");
        Assert.That(accepted.Select(s => s.Id), Is.EqualTo(opened.Select(s => s.Id)));
    }

    [Test]
    public void Streams_reset_before_being_accepted_leave_the_backlog_and_resets_cost_budget()
    {
        var scheduler = new BoundedTestScheduler();
        var written = scheduler.CreateObserver<Frame>();
        var frames = new List<Recorded<System.Reactive.Notification<Frame>>>();
        for (uint i = 0; i < 500; i++)
        {
            uint id = 1 + 2 * i;
            frames.Add(ReactiveTest.OnNext(10 + i, Frame.Data(id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)));
            frames.Add(ReactiveTest.OnNext(10 + i, Frame.WndInc(id, 0x7FFFFFFF)));
        }
        var wire = scheduler.CreateHotObservable(frames.ToArray());
        var session = MuxSession.Server(FrameTransport.Create(wire, written),
            new MuxSessionOptions { Scheduler = scheduler, ReplyBudgetBurst = 100, AcceptBacklog = 8 });
        scheduler.RunUntilIdle();

        Assert.That(session.Completion.IsCompleted, Is.True, "a flood of resets we are made to send ends the session");
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.EnhanceYourCalm));
        Assert.That(written.Messages.Count(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext && m.Value.Value.Type == FrameType.Rst),
            Is.LessThanOrEqualTo(101));
    }

    [Test]
    public async Task A_reset_stream_is_not_handed_to_the_application()
    {
        await using var pair = new VirtualSessionPair();
        var doomed = pair.Client.Open();
        var kept = pair.Client.Open();
        pair.RunUntilIdle();
        doomed.Reset(ErrorCode.StreamCancelled);
        pair.RunUntilIdle();
        var first = await pair.Server.AcceptAsync();
        Assert.That(first.Id, Is.EqualTo(kept.Id));
    }

    [Test]
    public async Task A_peer_reset_reaching_a_subscriber_without_error_handler_does_not_throw_on_the_scheduler()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        pair.RunUntilIdle();
        var serverSide = await pair.Server.AcceptAsync();
        int chunks = 0;
        serverSide.Received.Subscribe(_ => chunks++); // no onError: Rx rethrows by default
        stream.Reset(ErrorCode.StreamCancelled);
        Assert.DoesNotThrow(() => pair.RunUntilIdle());
        Assert.That(pair.Server.Completion.IsCompleted, Is.False, "the session goes on");
        Assert.That(chunks, Is.Zero);
    }

    [Test]
    public async Task An_incoming_observer_that_throws_resets_its_stream_and_the_session_goes_on()
    {
        await using var pair = new VirtualSessionPair();
        pair.Server.Incoming.Subscribe(_ => throw new InvalidOperationException("observer bug"), _ => { });
        var stream = pair.Client.Open();
        var view = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        stream.Received.Subscribe(view);
        Assert.DoesNotThrow(() => pair.RunUntilIdle());
        Assert.That((view.Messages.Single().Value.Exception as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.InternalError));
        Assert.That(pair.Server.Completion.IsCompleted, Is.False);
    }

    [Test]
    public void Replies_piling_up_for_a_peer_that_reads_nothing_end_the_session_with_write_timeout()
    {
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 8 * 1024 }; // far over 4 x the 1 KiB bound
        var session = MuxSession.Server(transport, new MuxSessionOptions
        {
            Scheduler = scheduler, MaxWriteQueueBytes = 1024, WriteTimeout = TimeSpan.FromSeconds(10),
        });
        transport.Peer.OnNext(Frame.Data(5, new byte[3])); // answered with RST StreamClosed: a control frame
        Assert.That(transport.Written, Is.EqualTo(new[] { Frame.Rst(5, ErrorCode.StreamClosed) }));
        scheduler.RunTo(TimeSpan.FromSeconds(9).Ticks);
        Assert.That(session.Completion.IsCompleted, Is.False);
        scheduler.RunTo(TimeSpan.FromSeconds(11).Ticks);
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.WriteTimeout));
    }

    [Test]
    public async Task Thousands_of_tiny_frames_for_a_slow_reader_are_held_compactly_and_in_order()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        for (int i = 0; i < 10_000; i++)
        {
            await stream.WriteAsync(new[] { Pattern.At(i) });
        }
        await stream.CloseWriteAsync();
        pair.RunUntilIdle();
        Assert.That(pair.ClientFrames.Frames.Count(f => f.Type == FrameType.Data && f.Length == 1), Is.EqualTo(10_000));

        var serverSide = await pair.Server.AcceptAsync();
        var bytes = new List<byte>();
        int chunks = 0;
        bool done = false;
        serverSide.Received.Subscribe(c => { chunks++; bytes.AddRange(c.ToArray()); }, _ => { }, () => done = true);
        pair.RunUntilIdle();

        Assert.That(done, Is.True);
        Assert.That(bytes, Is.EqualTo(Pattern.Create(10_000)));
        Assert.That(chunks, Is.LessThan(100), "tiny payloads queued behind a slow reader share buffers");
    }
}
