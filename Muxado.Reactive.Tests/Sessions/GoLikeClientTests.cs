using System.Collections.Concurrent;
using System.Text;
using Muxado.Reactive.Frames;
using static Muxado.Reactive.Tests.Sessions.StreamIO;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Our server against peers that behave like a real Go client (issue 9): SYNs out of id order (Go allocates ids in
/// order but a stream's SYN leaves with its first write, so concurrent goroutines race them onto the wire), ids reused
/// by a broken peer, bursts of SYNs in one TCP segment, and a stream closed while the peer still writes.
/// </summary>
/// <remarks>
/// Over loopback TCP; every wait is bounded by <see cref="Generous"/> (a hang fails instead of blocking the run); nothing
/// sleeps to let something happen.
/// </remarks>
public class GoLikeClientTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private const int Seed = 20_260_109;

    // ---------------------------------------------------------------- (a) shuffled SYNs from a raw peer

    [Test]
    public async Task Syns_for_200_ids_in_shuffled_order_are_all_accepted_and_echoed_without_goaway()
    {
        var (peer, socket) = await RawFramePeer.ConnectAsync();
        await using var _ = peer;
        await using var server = MuxSession.Create(socket, SessionRole.Server);
        var accepted = new ConcurrentQueue<uint>();
        var echoes = new ConcurrentQueue<Task>();
        using var incoming = server.Incoming.Subscribe(stream =>
        {
            accepted.Enqueue(stream.Id);
            echoes.Enqueue(EchoAsync(stream));
        });

        var ids = Enumerable.Range(0, 200).Select(i => (uint)(2 * i + 1)).ToArray();
        new Random(Seed).Shuffle(ids);
        // A little data and FIN on each SYN, ten streams to a socket write, as goroutines' first writes coalesce.
        foreach (var batch in ids.Chunk(10))
        {
            await peer.SendAsync(batch.Select(id => Frame.Data(id, Payload(id), FrameFlags.Syn | FrameFlags.Fin)));
        }
        var answers = new StreamAnswers();
        bool allAnswered = await peer.ReadUntilAsync(answers, a => a.Answered == ids.Length || a.GoAways.Count > 0);

        Assert.That(allAnswered, Is.True, answers.ToString());
        Assert.That(answers.GoAways, Is.Empty);
        Assert.That(answers.ResetCount(), Is.Zero, answers.ToString());
        Assert.That(accepted, Is.EquivalentTo(ids), "every stream accepted, whatever its place in id order");
        foreach (uint id in ids)
        {
            Assert.That(answers[id].Data.ToArray(), Is.EqualTo(Payload(id)), $"stream {id}: echoed");
            Assert.That(answers[id].Fin, Is.True, $"stream {id}: half-closed after the echo");
        }
        await Task.WhenAll(echoes).WaitAsync(Generous);
        Assert.That(server.Completion.IsCompleted, Is.False);
    }

    [Test]
    public async Task A_syn_for_an_id_that_is_still_open_ends_the_session_with_protocol_error()
    {
        var (peer, socket) = await RawFramePeer.ConnectAsync();
        await using var _ = peer;
        await using var server = MuxSession.Create(socket, SessionRole.Server);
        var held = new ConcurrentQueue<MuxStream>();
        var bothArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var incoming = server.Incoming.Subscribe(stream =>
        {
            held.Enqueue(stream); // taken and kept open: neither read nor closed
            if (held.Count == 2)
            {
                bothArrived.TrySetResult();
            }
        });

        // 7 before 3: out of order and legal. Then 3 again while it is open: a broken peer.
        await peer.SendAsync([Frame.Data(7, Payload(7), FrameFlags.Syn), Frame.Data(3, Payload(3), FrameFlags.Syn)]);
        await bothArrived.Task.WaitAsync(Generous);
        await peer.SendAsync([Frame.Data(3, Payload(3), FrameFlags.Syn)]);

        var answers = new StreamAnswers();
        await peer.ReadUntilAsync(answers, a => a.GoAways.Count > 0);
        Assert.That(answers.GoAways, Is.EqualTo(new[] { Frame.GoAway(7, ErrorCode.ProtocolError, "initiated stream id was already used: 0x3") }));
        var end = await server.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public async Task A_syn_for_an_id_that_has_finished_ends_the_session_with_protocol_error()
    {
        var (peer, socket) = await RawFramePeer.ConnectAsync();
        await using var _ = peer;
        await using var server = MuxSession.Create(socket, SessionRole.Server);
        var echoes = new ConcurrentDictionary<uint, Task>();
        using var incoming = server.Incoming.Subscribe(stream => echoes[stream.Id] = EchoAsync(stream));

        // 9 stays open; 5 (below it) finishes both ways; 1, 3 and 7 are never used.
        await peer.SendAsync([Frame.Data(9, Payload(9), FrameFlags.Syn), Frame.Data(5, Payload(5), FrameFlags.Syn | FrameFlags.Fin)]);
        var answers = new StreamAnswers();
        Assert.That(await peer.ReadUntilAsync(answers, a => a.HasAnswered(5)), Is.True, answers.ToString());
        Assert.That((answers[5].Fin, answers[5].Data.ToArray()), Is.EqualTo((true, Payload(5))), "stream 5 finished: both FINs are out");

        await peer.SendAsync([Frame.Data(5, Payload(5), FrameFlags.Syn)]);
        await peer.ReadUntilAsync(answers, a => a.GoAways.Count > 0);
        Assert.That(answers.GoAways, Is.EqualTo(new[] { Frame.GoAway(9, ErrorCode.ProtocolError, "initiated stream id was already used: 0x5") }));
        Assert.That((await server.Completion.WaitAsync(Generous)).LocalError, Is.EqualTo(ErrorCode.ProtocolError));
        await echoes[5].WaitAsync(Generous);
        var cutOff = await Assert.CatchAsync<MuxadoSessionException>(async () => await echoes[9].WaitAsync(Generous));
        Assert.That(cutOff?.Code, Is.EqualTo(ErrorCode.ProtocolError), "the stream still open hears how the session ended");
    }

    // ---------------------------------------------------------------- (b) 64 concurrent openers between our sessions

    [TestCase(SessionRole.Client)]
    [TestCase(SessionRole.Server)]
    public async Task Sixty_four_concurrent_openers_whose_syns_leave_out_of_order_have_every_stream_echoed(SessionRole openerRole)
    {
        // Without the empty SYN at Open, a stream's SYN leaves with its first write, as Go's does.
        await using var pair = await TcpSessionPair.ConnectAsync(new MuxSessionOptions { OpenWithEmptySyn = false });
        var opener = openerRole == SessionRole.Client ? pair.Client : pair.Server;
        var acceptor = openerRole == SessionRole.Client ? pair.Server : pair.Client;
        const int Openers = 64;
        const int PerOpener = 50;
        // The acceptor's stream events say in which order the SYNs arrived; they are delivered on their own queue, so
        // they may trail the streams themselves.
        var arrivals = new ConcurrentQueue<uint>();
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = acceptor.StreamEvents.Subscribe(e =>
        {
            if (e.Kind == StreamEventKind.Opened)
            {
                arrivals.Enqueue(e.StreamId);
                if (arrivals.Count == Openers * PerOpener)
                {
                    allArrived.TrySetResult();
                }
            }
        });
        var echoes = new ConcurrentQueue<Task>();
        using var incoming = acceptor.Incoming.Subscribe(stream => echoes.Enqueue(EchoAsync(stream)));
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var openers = Enumerable.Range(0, Openers).Select(o => Task.Run(async () =>
        {
            await go.Task;
            var random = new Random(Seed + o);
            int checkedStreams = 0;
            for (int k = 0; k < PerOpener; k += 2)
            {
                // Two opens, the second written first: its SYN leaves before the lower id's, every time; the other
                // openers interleave theirs at random.
                var first = opener.Open();
                var second = opener.Open();
                var firstPayload = StreamPayloads.Create(random.Next(), random.Next(1, 4096));
                var secondPayload = StreamPayloads.Create(random.Next(), random.Next(1, 4096));
                var firstBack = ReadToEndAsync(first);
                var secondBack = ReadToEndAsync(second);
                await second.WriteAsync(secondPayload);
                await second.CloseWriteAsync();
                await first.WriteAsync(firstPayload);
                await first.CloseWriteAsync();
                Assert.That(await secondBack, Is.EqualTo(secondPayload), $"stream {second.Id}");
                Assert.That(await firstBack, Is.EqualTo(firstPayload), $"stream {first.Id}");
                await first.DisposeAsync();
                await second.DisposeAsync();
                checkedStreams += 2;
            }
            return checkedStreams;
        })).ToArray();
        go.SetResult();
        var checkedPerOpener = await Task.WhenAll(openers).WaitAsync(Generous);
        await Task.WhenAll(echoes).WaitAsync(Generous);

        Assert.That(checkedPerOpener.Sum(), Is.EqualTo(Openers * PerOpener), "every stream echoed and checked");
        await allArrived.Task.WaitAsync(Generous);
        var order = arrivals.ToArray();
        int belowHighest = 0;
        uint highest = 0;
        foreach (uint id in order)
        {
            belowHighest += id < highest ? 1 : 0;
            highest = Math.Max(highest, id);
        }
        TestContext.Out.WriteLine($"{belowHighest} of {order.Length} SYNs arrived below the highest id seen");
        Assert.That(belowHighest, Is.GreaterThanOrEqualTo(Openers * PerOpener / 2), "each pair's lower id arrived after the higher one");
        Assert.That((pair.Client.Completion.IsCompleted, pair.Server.Completion.IsCompleted), Is.EqualTo((false, false)));
        Assert.That(pair.Client.RemoteGoAway, Is.Null, "no GOAWAY from the server");
        Assert.That(pair.Server.RemoteGoAway, Is.Null, "no GOAWAY from the client");
    }

    // ---------------------------------------------------------------- (c) a burst of SYNs in one socket write

    [Test]
    public async Task A_burst_of_1000_syns_in_one_write_is_served_in_full_when_the_application_takes_every_stream()
    {
        var (peer, socket) = await RawFramePeer.ConnectAsync();
        await using var _ = peer;
        await using var server = MuxSession.Create(socket, SessionRole.Server);
        int taken = 0;
        var echoes = new ConcurrentQueue<Task>();
        using var incoming = server.Incoming.Subscribe(stream =>
        {
            Interlocked.Increment(ref taken);
            echoes.Enqueue(EchoAsync(stream));
        });

        var ids = Enumerable.Range(0, 1000).Select(i => (uint)(2 * i + 1)).ToArray();
        int sendCalls = await peer.SendAsync(ids.Select(id => Frame.Data(id, Payload(id), FrameFlags.Syn | FrameFlags.Fin)));
        Assert.That(sendCalls, Is.EqualTo(1), "the burst went to the socket in one write");
        var answers = new StreamAnswers();
        await peer.ReadUntilAsync(answers, a => a.Answered == ids.Length || a.GoAways.Count > 0);

        Assert.That(answers.ResetCount(ErrorCode.AcceptQueueFull), Is.Zero, answers.ToString());
        Assert.That(answers.ResetCount(), Is.Zero, answers.ToString());
        Assert.That(answers.GoAways, Is.Empty);
        Assert.That(answers.Answered, Is.EqualTo(ids.Length));
        Assert.That(Volatile.Read(ref taken), Is.EqualTo(ids.Length), "every stream was handed to the subscriber");
        Assert.That(ids.Where(id => !answers[id].Data.ToArray().AsSpan().SequenceEqual(Payload(id))), Is.Empty, "every stream echoed");
        await Task.WhenAll(echoes).WaitAsync(Generous);
    }

    [Test]
    public async Task A_burst_of_1000_syns_against_a_server_that_takes_no_stream_keeps_the_backlog_and_refuses_the_rest()
    {
        var (peer, socket) = await RawFramePeer.ConnectAsync();
        await using var _ = peer;
        await using var server = MuxSession.Create(socket, SessionRole.Server);
        int backlog = server.Options.AcceptBacklog;
        Assert.That(backlog, Is.EqualTo(128), "the default, as Go's");

        var ids = Enumerable.Range(0, 1000).Select(i => (uint)(2 * i + 1)).ToArray();
        int sendCalls = await peer.SendAsync(ids.Select(id => Frame.Data(id, Payload(id), FrameFlags.Syn | FrameFlags.Fin)));
        Assert.That(sendCalls, Is.EqualTo(1), "the burst went to the socket in one write");
        var answers = new StreamAnswers();
        await peer.ReadUntilAsync(answers, a => a.ResetCount() >= ids.Length - backlog || a.GoAways.Count > 0);
        // A Go client whose goroutines open faster than the application accepts is an honest peer: each refused SYN
        // costs it an id and a frame and gets one RST back, as from a Go server. PROTOCOL.md: "Ours are options with
        // defaults that an honest Go peer never hits".
        Assert.That(answers.GoAways, Is.Empty, answers.ToString());
        Assert.That(answers.ResetCount(ErrorCode.AcceptQueueFull), Is.EqualTo(ids.Length - backlog), answers.ToString());

        // Every SYN has been applied (each got its RST or is in the backlog): the backlog holds the first 128 of the
        // burst, and nothing more is waiting.
        var kept = new List<uint>();
        var echoes = new List<Task>();
        for (int i = 0; i < backlog; i++)
        {
            var stream = await server.AcceptAsync().WaitAsync(Generous);
            kept.Add(stream.Id);
            echoes.Add(EchoAsync(stream));
        }
        Assert.That(kept, Is.EqualTo(ids.Take(backlog)), "the first streams of the burst were kept, in order");
        using (var nothingMore = new CancellationTokenSource())
        {
            var extra = server.AcceptAsync(nothingMore.Token);
            Assert.That(extra.IsCompleted, Is.False, "no stream beyond the backlog was kept");
            await nothingMore.CancelAsync();
            await Assert.CatchAsync<OperationCanceledException>(async () => await extra.WaitAsync(Generous));
        }
        await peer.ReadUntilAsync(answers, a => a.Answered == ids.Length || a.GoAways.Count > 0);
        Assert.That(answers.Answered, Is.EqualTo(ids.Length), answers.ToString());
        Assert.That(kept.Where(id => !answers[id].Fin || !answers[id].Data.ToArray().AsSpan().SequenceEqual(Payload(id))), Is.Empty,
            "the kept streams are served");
        Assert.That(answers.GoAways, Is.Empty, "refusing streams the application does not take is no reason to end the session");
        await Task.WhenAll(echoes).WaitAsync(Generous);
        Assert.That(server.Completion.IsCompleted, Is.False);
    }

    // ---------------------------------------------------------------- (d) closing while the peer still writes

    public enum CloseTiming
    {
        /// <summary>The server closes while the client's write is starting (the shape issue 9 reported).</summary>
        RacingTheWrite,

        /// <summary>The server closes before the client writes; the client has seen the FIN.</summary>
        BeforeTheWrite,

        /// <summary>A full window is buffered unread when the server closes; the client waits for window.</summary>
        WithAWindowUnread,
    }

    [Test]
    public async Task Closing_a_stream_while_the_peer_still_writes_fails_the_peers_write_promptly_with_stream_closed()
    {
        var prompt = TimeSpan.FromSeconds(10); // a loopback RST takes microseconds; the hang this guards against is for ever
        await using var pair = await TcpSessionPair.ConnectAsync();
        const int Window = 256 * 1024;
        var payload = StreamPayloads.Create(Seed, 300 * 1024); // more than the window
        for (int round = 0; round < 10; round++)
        {
            var timing = (CloseTiming)(round % 3);
            var stream = pair.Client.Open();
            var there = await pair.Server.AcceptAsync().WaitAsync(Generous);
            Task writing;
            switch (timing)
            {
                case CloseTiming.RacingTheWrite:
                    writing = stream.WriteAsync(payload).AsTask();
                    await there.DisposeAsync();
                    break;
                case CloseTiming.BeforeTheWrite:
                    await there.DisposeAsync();
                    Assert.That(await ReadToEndAsync(stream).WaitAsync(Generous), Is.Empty, "the server's FIN arrived");
                    writing = stream.WriteAsync(payload).AsTask();
                    break;
                default:
                    await stream.WriteAsync(payload.AsMemory(0, Window)).AsTask().WaitAsync(Generous);
                    // Frames leave in order: once the marker's byte is read, the window's worth is buffered unread.
                    var marker = pair.Client.Open();
                    await marker.WriteAsync(new byte[] { 1 });
                    var markerThere = await pair.Server.AcceptAsync().WaitAsync(Generous);
                    await using (var markerReader = markerThere.ReadAllAsync().GetAsyncEnumerator())
                    {
                        Assert.That(await markerReader.MoveNextAsync().AsTask().WaitAsync(Generous), Is.True);
                    }
                    await markerThere.DisposeAsync();
                    await marker.DisposeAsync();
                    writing = stream.WriteAsync(payload.AsMemory(Window)).AsTask();
                    await there.DisposeAsync();
                    break;
            }
            var error = await Assert.CatchAsync<MuxadoStreamException>(async () => await writing.WaitAsync(prompt), $"round {round} ({timing})");
            Assert.That((error?.Code, error?.ByPeer), Is.EqualTo((ErrorCode.StreamClosed, true)), $"round {round} ({timing})");
        }

        int serverStreams;
        using (pair.Server.Lock.Enter())
        {
            serverStreams = pair.Server.Core.StreamCount;
        }
        Assert.That(serverStreams, Is.Zero, "the closed streams left the server's table");
        Assert.That((pair.Client.Completion.IsCompleted, pair.Server.Completion.IsCompleted), Is.EqualTo((false, false)));
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] Payload(uint id) => Encoding.ASCII.GetBytes($"stream {id}:" + new string((char)('a' + id % 26), (int)(id % 13)));


}
