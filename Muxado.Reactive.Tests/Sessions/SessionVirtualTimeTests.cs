using System.Reactive.Linq;
using System.Text;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>Two sessions back to back in virtual time: whole conversations, frame by frame, with no sleeps.</summary>
public class SessionVirtualTimeTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static List<byte> Collect(MuxStream stream, out Func<Exception?> error, out Func<bool> completed)
    {
        var bytes = new List<byte>();
        Exception? failure = null;
        bool done = false;
        stream.Received.Subscribe(c => bytes.AddRange(c.ToArray()), e => failure = e, () => done = true);
        error = () => failure;
        completed = () => done;
        return bytes;
    }

    [Test]
    public async Task Open_write_half_close_and_reply_round_trip()
    {
        await using var pair = new VirtualSessionPair();
        var accepted = new List<MuxStream>();
        pair.Server.Incoming.Subscribe(accepted.Add);

        var stream = pair.Client.Open();
        await stream.WriteAsync(B("hello muxado"));
        await stream.CloseWriteAsync();
        pair.RunUntilIdle();

        Assert.That(accepted, Has.Count.EqualTo(1));
        var serverSide = accepted[0];
        Assert.That(serverSide.Id, Is.EqualTo(3u));
        var received = Collect(serverSide, out var error, out var completed);
        pair.RunUntilIdle();
        Assert.That(Encoding.ASCII.GetString(received.ToArray()), Is.EqualTo("hello muxado"));
        Assert.That(completed(), Is.True);

        await serverSide.WriteAsync(B("HELLO"));
        await serverSide.DisposeAsync();
        var reply = Collect(stream, out var replyError, out var replyDone);
        pair.RunUntilIdle();
        Assert.That(Encoding.ASCII.GetString(reply.ToArray()), Is.EqualTo("HELLO"));
        Assert.That(replyDone(), Is.True);
        Assert.That(replyError(), Is.Null);

        // What went over the wire, in order: Go's frames, except our empty SYN first.
        Assert.That(pair.ClientFrames.Frames.Take(3), Is.EqualTo(new[]
        {
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, B("hello muxado")),
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }));
        Assert.That(pair.ServerFrames.Frames, Is.EqualTo(new[]
        {
            Frame.Data(3, B("HELLO")),
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }), "no WNDINC after the peer's FIN: credit it could never use");
    }

    [Test]
    public async Task Streams_arriving_before_anyone_subscribes_wait_in_the_backlog_and_go_to_one_taker_at_a_time()
    {
        // Issue 10: a second Incoming subscriber (or an AcceptAsync beside Incoming) used to take every other stream
        // silently; now a session's incoming streams have one taker at a time, and the others are told so.
        await using var pair = new VirtualSessionPair();
        var opened = Enumerable.Range(0, 5).Select(_ => pair.Client.Open()).ToList();
        pair.RunUntilIdle();

        var first = new List<uint>();
        Exception? secondError = null;
        var subscription = pair.Server.Incoming.Subscribe(s => first.Add(s.Id));
        pair.Server.Incoming.Subscribe(_ => Assert.Fail("a second taker got a stream"), e => secondError = e);
        var viaAccept = pair.Server.AcceptAsync();
        pair.RunUntilIdle();

        Assert.That(first, Is.EqualTo(opened.Select(s => s.Id)), "every stream, in order, exactly once");
        Assert.That(secondError, Is.InstanceOf<InvalidOperationException>());
        Assert.That(secondError!.Message, Does.Contain("StreamEvents"), "the error says how to watch instead");
        Assert.That(viaAccept.IsFaulted && viaAccept.Exception!.InnerException is InvalidOperationException, Is.True);

        // Once the subscriber has left, AcceptAsync takes the next stream.
        subscription.Dispose();
        var next = pair.Client.Open();
        var accepted = pair.Server.AcceptAsync();
        pair.RunUntilIdle();
        Assert.That(accepted.IsCompletedSuccessfully && accepted.Result.Id == next.Id, Is.True);
    }

    [Test]
    public async Task Writer_stops_at_the_window_and_resumes_as_the_reader_consumes()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = 1024, MaxFramePayload = 256 });
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[3000]).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompleted, Is.False, "3000 bytes cannot pass a 1024-byte window while nobody reads");
        Assert.That(pair.ClientFrames.Frames.Where(f => f.Type == FrameType.Data).Sum(f => f.Length), Is.EqualTo(1024));

        var serverSide = await pair.Server.AcceptAsync();
        var received = Collect(serverSide, out _, out _);
        pair.RunUntilIdle();
        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(received, Has.Count.EqualTo(3000));
        var credits = pair.ServerFrames.Frames.Where(f => f.Type == FrameType.WndInc).Select(f => (int)f.Increment).ToList();
        Assert.That(credits.Sum(), Is.EqualTo(3000));
        Assert.That(credits, Has.All.GreaterThanOrEqualTo(256), "credit is coalesced, never a WNDINC per tiny read");
    }

    [Test]
    public async Task Closing_a_stream_whose_write_waits_for_window_aborts_the_write_instead_of_hanging()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = 1024 });
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[3000]).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompleted, Is.False);

        var closing = stream.DisposeAsync().AsTask();
        pair.RunUntilIdle();
        // The write lock hands over through the thread pool (SemaphoreSlim), so wait for it in real time.
        await closing.WaitAsync(TimeSpan.FromSeconds(30));
        var error = await Assert.ThrowsAsync<MuxadoStreamException>(async () => await write);
        Assert.That(error!.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        Assert.That(pair.ClientFrames.Frames, Does.Contain(Frame.Rst(stream.Id, ErrorCode.StreamCancelled)));
    }

    [Test]
    public async Task Credit_held_across_an_async_hop_keeps_backpressure()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = 1024, MaxFramePayload = 512 });
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[2048]).AsTask();
        pair.RunUntilIdle();
        var serverSide = await pair.Server.AcceptAsync();
        var held = new List<CreditedChunk>();
        bool completed = false;
        serverSide.ReceivedWithCredit().Subscribe(held.Add, _ => { }, () => completed = true);
        pair.RunUntilIdle();

        Assert.That(held.Sum(c => c.Data.Length), Is.EqualTo(1024), "delivered, but the credit is still held");
        Assert.That(write.IsCompleted, Is.False);
        Assert.That(pair.ServerFrames.Frames.Any(f => f.Type == FrameType.WndInc), Is.False);

        held[0].Release();
        held[0].Release(); // idempotent
        pair.RunUntilIdle();
        Assert.That(held.Sum(c => c.Data.Length), Is.EqualTo(1536));
        foreach (var chunk in held.ToList())
        {
            chunk.Release();
        }
        pair.RunUntilIdle();
        foreach (var chunk in held.ToList())
        {
            chunk.Release();
        }
        pair.RunUntilIdle();
        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(held.Sum(c => c.Data.Length), Is.EqualTo(2048));
        await stream.CloseWriteAsync();
        pair.RunUntilIdle();
        Assert.That(completed, Is.True);
    }

    [Test]
    public async Task Peer_reset_fails_the_reader_with_the_code()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        await stream.WriteAsync(B("q"));
        pair.RunUntilIdle();
        var serverSide = await pair.Server.AcceptAsync();
        var observer = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        stream.Reset(ErrorCode.StreamCancelled);
        pair.RunUntilIdle();
        serverSide.Received.Subscribe(observer);
        pair.RunUntilIdle();
        var error = observer.Messages.Single().Value.Exception as MuxadoStreamException;
        Assert.That(error, Is.Not.Null);
        Assert.That(error!.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        Assert.That(error.ByPeer, Is.True);
        await Assert.ThrowsAsync<MuxadoStreamException>(async () => await stream.WriteAsync(B("x")));
    }

    [Test]
    public async Task Goaway_refuses_new_streams_and_open_fails_with_remote_gone_away()
    {
        await using var pair = new VirtualSessionPair();
        var before = pair.Client.Open();
        pair.RunUntilIdle();
        pair.Run(pair.Server.GoAwayAsync(ErrorCode.NoError, "draining"));
        pair.RunUntilIdle();
        var ex = Assert.Throws<MuxadoException>(() => pair.Client.Open());
        Assert.That(ex!.Code, Is.EqualTo(ErrorCode.RemoteGoneAway));
        Assert.That(ex.Message, Does.Contain("draining"));
        Assert.That(pair.Client.RemoteGoAway, Is.EqualTo((ErrorCode.NoError, "draining")));

        // The stream opened before the GOAWAY still works.
        await before.WriteAsync(B("still here"));
        await before.CloseWriteAsync();
        var serverSide = await pair.Server.AcceptAsync();
        var got = Collect(serverSide, out _, out var done);
        pair.RunUntilIdle();
        Assert.That(Encoding.ASCII.GetString(got.ToArray()), Is.EqualTo("still here"));
        Assert.That(done(), Is.True);
    }

    [Test]
    public async Task Backlog_overflow_resets_the_extra_stream_with_accept_queue_full()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { AcceptBacklog = 2 });
        var streams = Enumerable.Range(0, 3).Select(_ => pair.Client.Open()).ToList();
        var observer = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        streams[2].Received.Subscribe(observer);
        pair.RunUntilIdle();
        var error = observer.Messages.Single().Value.Exception as MuxadoStreamException;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.AcceptQueueFull));
        Assert.That((await pair.Server.AcceptAsync()).Id, Is.EqualTo(streams[0].Id));
        Assert.That((await pair.Server.AcceptAsync()).Id, Is.EqualTo(streams[1].Id));
    }

    [Test]
    public async Task Observer_that_throws_resets_only_its_stream()
    {
        await using var pair = new VirtualSessionPair();
        var bad = pair.Client.Open();
        var good = pair.Client.Open();
        await bad.WriteAsync(B("boom"));
        await good.WriteAsync(B("fine"));
        await good.CloseWriteAsync();
        pair.RunUntilIdle();
        var badServer = await pair.Server.AcceptAsync();
        var goodServer = await pair.Server.AcceptAsync();
        badServer.Received.Subscribe(_ => throw new InvalidOperationException("observer bug"));
        var got = Collect(goodServer, out _, out var done);
        var clientView = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        bad.Received.Subscribe(clientView);
        pair.RunUntilIdle();

        Assert.That(Encoding.ASCII.GetString(got.ToArray()), Is.EqualTo("fine"));
        Assert.That(done(), Is.True);
        Assert.That((clientView.Messages.Single().Value.Exception as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.InternalError));
        Assert.That(pair.Server.Completion.IsCompleted, Is.False);
    }

    [Test]
    public async Task Session_error_ends_every_stream_with_the_code_after_its_buffered_data()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        await stream.WriteAsync(B("kept"));
        pair.RunUntilIdle();
        var serverSide = await pair.Server.AcceptAsync();
        // The peer breaks the protocol: a SYN with the server's own parity.
        var badFrame = Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn);
        using (pair.Client.Lock.Enter())
        {
            pair.Client.WriteFrameLocked(badFrame);
        }
        var observer = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        serverSide.Received.Subscribe(observer);
        pair.RunUntilIdle();

        Assert.That(observer.Messages, Has.Count.EqualTo(2));
        Assert.That(observer.Messages[0].Value.Value.ToArray(), Is.EqualTo(B("kept")));
        var error = observer.Messages[1].Value.Exception as MuxadoSessionException;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.ProtocolError));
        var end = await pair.Server.Completion;
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(end.Message, Is.EqualTo("initiated stream id has wrong parity for remote endpoint: 0x2"));
        var clientEnd = await pair.Client.Completion;
        Assert.That(clientEnd.RemoteError, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(clientEnd.RemoteDebug, Is.EqualTo(end.Message));
    }

    [Test]
    public async Task Clean_close_completes_incoming_and_reports_peer_goaway()
    {
        var pair = new VirtualSessionPair();
        var incoming = pair.Scheduler.CreateObserver<MuxStream>();
        pair.Server.Incoming.Subscribe(incoming);
        var closing = pair.Client.DisposeAsync().AsTask();
        pair.RunUntilIdle();
        await closing.WaitAsync(TimeSpan.FromSeconds(5));
        var serverEnd = await pair.Server.Completion.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(serverEnd.RemoteError, Is.EqualTo(ErrorCode.NoError));
        Assert.That(serverEnd.RemoteDebug, Is.EqualTo("no error"));
        Assert.That(serverEnd.IsClean, Is.True);
        pair.RunUntilIdle();
        Assert.That(incoming.Messages.Single().Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnCompleted));
        Assert.That(pair.ClientFrames.Frames.Last(), Is.EqualTo(Frame.GoAway(0, ErrorCode.NoError, "no error")));
        await pair.DisposeAsync();
    }

    [Test]
    public async Task Heartbeat_reports_latency_and_timeouts_in_virtual_time()
    {
        await using var pair = new VirtualSessionPair();
        _ = RespondTyped(pair.Server);
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);
        pair.RunFor(TimeSpan.FromSeconds(3.5));
        Assert.That(events.Messages.Select(m => m.Value.Value.IsTimeout), Is.EqualTo(new[] { false, false, false }));
        // Each beat goes out on its second; the echo's round trip is only scheduler hops, and
        // Microsoft.Reactive.Testing's scheduler moves the clock one tick per hop: a few ticks, far below a millisecond.
        Assert.That(events.Messages.Select((m, i) => m.Time - TimeSpan.FromSeconds(i + 1).Ticks), Has.All.InRange(0, TimeSpan.TicksPerMillisecond - 1));
        Assert.That(events.Messages.Select(m => m.Value.Value.Latency), Has.All.LessThan(TimeSpan.FromMilliseconds(1)));
        await heartbeat.DisposeAsync();
    }

    [Test]
    public async Task Heartbeat_without_a_responder_times_out_every_interval_plus_tolerance()
    {
        await using var pair = new VirtualSessionPair();
        // Nobody accepts typed streams on the server: the beat is never echoed.
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);
        pair.RunFor(TimeSpan.FromSeconds(10));
        Assert.That(events.Messages.Select(m => m.Value.Value.IsTimeout), Has.All.True);
        // Each timeout happens on the tick (its At) and reaches the observer one tick later: the hop to the
        // watcher's own drain, which the test scheduler runs at now + 1.
        Assert.That(events.Messages.Select(m => m.Value.Value.At.UtcTicks), Is.EqualTo(new[] { 3, 6, 9 }.Select(s => TimeSpan.FromSeconds(s).Ticks)));
        Assert.That(events.Messages.Select(m => m.Time), Is.EqualTo(new[] { 3, 6, 9 }.Select(s => TimeSpan.FromSeconds(s).Ticks + 1)));
        await heartbeat.DisposeAsync();
    }

    [Test]
    public void DrainAsync_lets_open_streams_finish_and_closes_the_session_on_the_deadline_tick()
    {
        var pair = new VirtualSessionPair();
        var incoming = pair.Scheduler.CreateObserver<MuxStream>();
        pair.Server.Incoming.Subscribe(incoming);
        var open = pair.Client.Open();
        pair.RunFor(TimeSpan.FromMilliseconds(10));
        var there = incoming.Messages.Single().Value.Value;
        var reader = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        there.Received.Subscribe(reader);

        long start = pair.Scheduler.Clock;
        var draining = pair.Server.DrainAsync(TimeSpan.FromSeconds(2), "going");
        pair.RunFor(TimeSpan.FromSeconds(1));
        var ex = Assert.Throws<MuxadoException>(() => pair.Client.Open());
        Assert.That(ex!.Code, Is.EqualTo(ErrorCode.RemoteGoneAway), "the GOAWAY arrived: no new streams");
        Assert.That(open.WriteAsync(B("still")).AsTask().IsCompletedSuccessfully, Is.True);
        pair.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.That(reader.Messages.Select(m => m.Value.Value.ToArray()), Is.EqualTo(new[] { B("still") }),
            "a stream open before the GOAWAY goes on");

        pair.Scheduler.RunTo(start + TimeSpan.FromSeconds(2).Ticks - 1);
        Assert.That(draining.IsCompleted, Is.False, "not before the deadline");
        var end = pair.Run(draining);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.NoError));
        // The close starts on the deadline; the transport goes once the closing GOAWAY is written, at most the linger later.
        long deadline = start + TimeSpan.FromSeconds(2).Ticks;
        Assert.That(pair.ServerTransportClosedAt, Is.InRange(deadline, deadline + MuxSessionOptions.Default.GoAwayLinger.Ticks + TimeSpan.TicksPerMillisecond));
        Assert.That(pair.Client.Completion.IsCompleted, Is.True);
        Assert.That((pair.Client.Completion.Result.RemoteError, pair.Client.Completion.Result.LocalError), Is.EqualTo(((ErrorCode?)ErrorCode.NoError, ErrorCode.PeerEOF)));
    }

    [Test]
    public void DrainAsync_returns_as_soon_as_the_peer_closes()
    {
        var pair = new VirtualSessionPair();
        var draining = pair.Server.DrainAsync(Timeout.InfiniteTimeSpan, "going");
        pair.RunUntilIdle();
        Assert.That(draining.IsCompleted, Is.False, "an infinite drain waits for the peer");

        pair.Run(pair.Client.DisposeAsync().AsTask());
        var end = pair.Run(draining);

        Assert.That((end.LocalError, end.RemoteError), Is.EqualTo((ErrorCode.PeerEOF, (ErrorCode?)ErrorCode.NoError)));
        Assert.That(pair.Client.Completion.Result.RemoteDebug, Is.EqualTo("going"));
    }

    [Test]
    public void DrainAsync_refuses_a_timeout_it_cannot_keep()
    {
        var pair = new VirtualSessionPair();
        Assert.That(() => pair.Server.DrainAsync(TimeSpan.FromSeconds(-2)), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => pair.Server.DrainAsync(TimeSpan.FromDays(30)), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(pair.Server.Completion.IsCompleted, Is.False, "refused before anything was sent");
        pair.Run(Task.WhenAll(pair.Client.DisposeAsync().AsTask(), pair.Server.DisposeAsync().AsTask()));
    }

    private static async Task RespondTyped(MuxSession session)
    {
        try
        {
            while (true)
            {
                var typed = await session.AcceptTypedAsync();
                await typed.Stream.DisposeAsync();
            }
        }
        catch (MuxadoException)
        {
        }
    }
}
