using System.Buffers.Binary;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Reactive.Threading.Tasks;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Interop;
using static Muxado.Reactive.Tests.Sessions.StreamIO;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Sessions over real loopback TCP under load, with hostile raw peers, vanishing peers, concurrent writers,
/// .NET stream adapters, cancellation and the SendTo operator.
/// </summary>
/// <remarks>
/// Every wait is bounded by <see cref="Generous"/> so that a hang fails instead of blocking the run, and no test
/// sleeps to let something happen: each waits for the event it needs. The bounds are far above what a loaded
/// 2-core machine needs; none of them decides the outcome.
/// </remarks>
public class TcpStressTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);
    private const int Window = 256 * 1024;

    // ---------------------------------------------------------------- many streams, both directions

    [Test]
    public async Task A_thousand_streams_opened_from_both_sides_are_each_echoed_exactly()
    {
        const int PerSide = 500;
        // 500 SYNs can arrive faster than one accept loop takes them; Go's backlog of 128 would then refuse some
        // with AcceptQueueFull (PROTOCOL.md, "Accepting streams"), which is correct but not what this test is about.
        await using var pair = await TcpSessionPair.ConnectAsync(new MuxSessionOptions { AcceptBacklog = 2 * PerSide });
        var random = new Random(20_251_124);
        var payloads = new byte[2 * PerSide][];
        var pieces = new int[2 * PerSide];
        for (int i = 0; i < payloads.Length; i++)
        {
            payloads[i] = new byte[random.Next(0, 64 * 1024 + 1)];
            random.NextBytes(payloads[i]);
            pieces[i] = random.Next(1, 4);
        }

        var serverEchoes = EchoAcceptedAsync(pair.Server, PerSide);
        var clientEchoes = EchoAcceptedAsync(pair.Client, PerSide);
        var roundTrips = Enumerable.Range(0, payloads.Length)
            .Select(i => Task.Run(() => RoundTripAsync(i % 2 == 0 ? pair.Client : pair.Server, payloads[i], pieces[i])))
            .ToArray();
        var echoed = await Task.WhenAll(roundTrips).WaitAsync(Generous);
        var accepted = await Task.WhenAll(serverEchoes, clientEchoes).WaitAsync(Generous);

        for (int i = 0; i < payloads.Length; i++)
        {
            Assert.That(echoed[i].Length, Is.EqualTo(payloads[i].Length), $"stream #{i}");
            Assert.That(echoed[i].AsSpan().SequenceEqual(payloads[i]), Is.True, $"stream #{i}: every byte in order exactly once");
        }
        Assert.That(accepted, Is.EqualTo(new[] { PerSide, PerSide }));
        Assert.That(pair.Client.Completion.IsCompleted || pair.Server.Completion.IsCompleted, Is.False);
    }

    /// <summary>Opens a stream, writes the payload in pieces, half-closes, and returns what came back.</summary>
    private static async Task<byte[]> RoundTripAsync(MuxSession session, byte[] payload, int pieces)
    {
        var stream = await session.OpenAsync();
        var reading = ReadToEndAsync(stream);
        int offset = 0;
        for (int p = 0; p < pieces; p++)
        {
            int length = p == pieces - 1 ? payload.Length - offset : payload.Length / pieces;
            await stream.WriteAsync(payload.AsMemory(offset, length));
            offset += length;
        }
        await stream.CloseWriteAsync();
        var back = await reading;
        await stream.DisposeAsync();
        return back;
    }

    /// <summary>Accepts <paramref name="count"/> streams and echoes each; returns how many it served.</summary>
    private static async Task<int> EchoAcceptedAsync(MuxSession session, int count)
    {
        var echoes = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            var stream = await session.AcceptAsync();
            echoes.Add(Task.Run(() => EchoAsync(stream)));
        }
        await Task.WhenAll(echoes);
        return echoes.Count;
    }



    // ---------------------------------------------------------------- a blocked subscriber

    [Test]
    public async Task A_blocked_subscriber_holds_back_only_its_own_stream_and_at_most_a_window()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var slow = pair.Client.Open();
        var fast = pair.Client.Open();
        var first = await pair.Server.AcceptAsync().WaitAsync(Generous);
        var second = await pair.Server.AcceptAsync().WaitAsync(Generous);
        var slowServer = first.Id == slow.Id ? first : second;
        var fastServer = first.Id == slow.Id ? second : first;

        using var unblock = new ManualResetEventSlim(false);
        var firstChunk = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowReceived = new MemoryStream();
        slowServer.Received.Subscribe(
            chunk =>
            {
                slowReceived.Write(chunk.Span);
                firstChunk.TrySetResult();
                unblock.Wait(Generous);
            },
            error => slowDone.TrySetException(error),
            () => slowDone.TrySetResult());

        var slowPayload = RandomBytes(1024 * 1024, seed: 1);
        var slowWrite = Task.Run(async () =>
        {
            await slow.WriteAsync(slowPayload);
            await slow.CloseWriteAsync();
        });
        await firstChunk.Task.WaitAsync(Generous);

        // 50 MiB on the other stream while the first subscriber sits in OnNext.
        const int Blocks = 800;
        const int BlockSize = 64 * 1024;
        var fastRead = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            await foreach (var chunk in fastServer.ReadAllAsync())
            {
                hash.AppendData(chunk.Span);
                total += chunk.Length;
            }
            return (total, hash.GetHashAndReset());
        });
        var fastWrite = Task.Run(async () =>
        {
            for (int i = 0; i < Blocks; i++)
            {
                await fast.WriteAsync(Block(i, BlockSize));
            }
            await fast.CloseWriteAsync();
        });
        var (fastTotal, fastHash) = await fastRead.WaitAsync(Generous);
        await fastWrite.WaitAsync(Generous);

        using (var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            for (int i = 0; i < Blocks; i++)
            {
                expected.AppendData(Block(i, BlockSize));
            }
            Assert.That(fastTotal, Is.EqualTo((long)Blocks * BlockSize));
            Assert.That(fastHash, Is.EqualTo(expected.GetHashAndReset()));
        }

        // The blocked stream: its writer waits for credit, and the receiver holds no more than one window of it.
        Assert.That(slowWrite.IsCompleted, Is.False, "1 MiB cannot pass a 256 KiB window whose reader is blocked");
        long buffered;
        using (pair.Server.Lock.Enter())
        {
            buffered = pair.Server.Core.BufferedBytes;
        }
        Assert.That(buffered, Is.LessThanOrEqualTo(Window));
        Assert.That(slowReceived.Length, Is.LessThanOrEqualTo(Window));

        unblock.Set();
        await slowWrite.WaitAsync(Generous);
        await slowDone.Task.WaitAsync(Generous);
        Assert.That(slowReceived.ToArray().AsSpan().SequenceEqual(slowPayload), Is.True);
    }

    // ---------------------------------------------------------------- hostile raw peers

    [TestCase("wrong-parity-syn", ErrorCode.ProtocolError)]
    [TestCase("rst-bad-length", ErrorCode.FrameSizeError)]
    [TestCase("wndinc-zero", ErrorCode.ProtocolError)]
    public async Task A_frame_error_from_a_raw_peer_is_answered_with_gos_exact_goaway_and_the_session_ends(string name, ErrorCode code)
    {
        var scenario = GoTranscripts.Scenario(name);
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        await SendAllAsync(peer, scenario.Bytes(TranscriptDirection.ClientToServer)!);
        var answer = await ReadSocketToEndAsync(peer);

        Assert.That(Convert.ToHexStringLower(answer), Is.EqualTo(scenario.ServerToClientHex), "Go's bytes, then the connection closes");
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(code));
        Assert.That(end.Message, Is.EqualTo(scenario.ServerToClientFrames.Single().Debug));
        Assert.That(end.IsClean, Is.False);
    }

    [Test]
    public async Task Data_on_an_unknown_stream_from_a_raw_peer_is_answered_with_rst_and_the_session_lives_on()
    {
        var scenario = GoTranscripts.Scenario("data-on-unknown-stream");
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        await SendAllAsync(peer, scenario.Bytes(TranscriptDirection.ClientToServer)!);
        await SendAllAsync(peer, GoTranscripts.Encode([Frame.Data(1, Encoding.ASCII.GetBytes("ok"), FrameFlags.Syn)]));
        var stream = await session.AcceptAsync().WaitAsync(Generous);
        Assert.That(stream.Id, Is.EqualTo(1u), "the session still accepts streams after answering the stray DATA");
        peer.Shutdown(SocketShutdown.Send);
        var answer = await ReadSocketToEndAsync(peer);

        Assert.That(GoTranscripts.Decode(answer), Is.EqualTo(new[]
        {
            Frame.Rst(5, ErrorCode.StreamClosed),                                   // Go's answer, byte for byte
            Frame.GoAway(1, ErrorCode.PeerEOF, "read EOF from remote peer"),        // what Go says at EOF
        }));
        Assert.That(Convert.ToHexStringLower(answer).StartsWith(scenario.ServerToClientHex!, StringComparison.Ordinal), Is.True);
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
    }

    [Test]
    public async Task A_16_MiB_data_header_is_reset_without_buffering_and_eof_inside_its_body_ends_the_session()
    {
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        var header = new byte[] { 0xFF, 0xFF, 0xFF, 0x12, 0, 0, 0, 1 }; // DATA|SYN, stream 1, length 16 MiB - 1
        await SendAllAsync(peer, header);
        await SendAllAsync(peer, new byte[1000]);
        peer.Shutdown(SocketShutdown.Send);
        var answer = await ReadSocketToEndAsync(peer);

        const string Text = "the transport ended in the middle of a frame: 16776215 more bytes were expected";
        Assert.That(GoTranscripts.Decode(answer), Is.EqualTo(new[]
        {
            Frame.Rst(1, ErrorCode.FlowControlError), // the declared length exceeds the window: refused before its body
            Frame.GoAway(1, ErrorCode.PeerEOF, Text),
        }));
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(end.Message, Is.EqualTo(Text));
    }

    [Test]
    public async Task A_goaway_with_a_huge_debug_text_keeps_1_KiB_and_the_reader_stays_in_step()
    {
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        var debug = string.Concat(Enumerable.Repeat("0123456789", 100_000)); // 1 MB of debug text
        await SendAllAsync(peer, GoTranscripts.Encode([
            Frame.GoAway(0, ErrorCode.NoError, debug),
            Frame.Data(1, Encoding.ASCII.GetBytes("after"), FrameFlags.Syn | FrameFlags.Fin),
        ]));
        var stream = await session.AcceptAsync().WaitAsync(Generous);

        Assert.That(Encoding.ASCII.GetString(await ReadToEndAsync(stream).WaitAsync(Generous)), Is.EqualTo("after"),
            "the 1 MB body was skipped exactly: the next frame parsed");
        Assert.That(session.RemoteGoAway, Is.EqualTo((ErrorCode.NoError, debug[..1024])));
        Assert.That(session.Completion.IsCompleted, Is.False);
    }

    [Test]
    public async Task A_reset_flood_over_the_reply_budget_ends_the_session_with_enhance_your_calm()
    {
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        // A budget that never refills, so that the count, not the machine's speed, decides.
        var options = new MuxSessionOptions { ReplyBudgetBurst = 100, ReplyBudgetPerSecond = 0 };
        await using var session = MuxSession.Create(socket, SessionRole.Server, options);

        await SendAllAsync(peer, GoTranscripts.Encode(Enumerable.Range(0, 101).Select(i => Frame.Rst((uint)(2 * i) + 1, ErrorCode.StreamCancelled))));
        var answer = await ReadSocketToEndAsync(peer);

        const string Text = "too many frames forcing replies: more than 100 at once or 0 per second";
        Assert.That(GoTranscripts.Decode(answer), Is.EqualTo(new[] { Frame.GoAway(1, ErrorCode.EnhanceYourCalm, Text) }));
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.EnhanceYourCalm));
    }

    // ---------------------------------------------------------------- a peer that vanishes

    [Test]
    public async Task A_peer_that_closes_mid_frame_ends_the_session_with_peer_eof_after_the_data_it_sent()
    {
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        var bytes = GoTranscripts.Encode([Frame.Data(1, Encoding.ASCII.GetBytes("hello"), FrameFlags.Syn)]).ToList();
        bytes.AddRange(new byte[] { 0, 0, 10, 0x10, 0, 0, 0, 1 });      // DATA 1 announcing 10 bytes...
        bytes.AddRange(Encoding.ASCII.GetBytes("wor"));                 // ...of which 3 come
        await SendAllAsync(peer, bytes.ToArray());
        peer.Shutdown(SocketShutdown.Send);

        const string Text = "the transport ended in the middle of a frame: 7 more bytes were expected";
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(end.Message, Is.EqualTo(Text));

        // The application comes late: the stream and its data are still there, then the session's error.
        var stream = await session.AcceptAsync().WaitAsync(Generous);
        var received = new MemoryStream();
        var error = await Assert.CatchAsync<MuxadoSessionException>(async () =>
        {
            await foreach (var chunk in stream.ReadAllAsync())
            {
                received.Write(chunk.Span);
            }
        })!;
        Assert.That(Encoding.ASCII.GetString(received.ToArray()), Is.EqualTo("hello"));
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(GoTranscripts.Decode(await ReadSocketToEndAsync(peer)), Is.EqualTo(new[] { Frame.GoAway(1, ErrorCode.PeerEOF, Text) }));
    }

    [Test]
    public async Task A_peer_that_resets_the_connection_mid_frame_ends_the_session_with_peer_eof()
    {
        var (peer, socket) = await TcpSessionPair.ConnectSocketsAsync();
        await using var session = MuxSession.Create(socket, SessionRole.Server);

        await SendAllAsync(peer, GoTranscripts.Encode([Frame.Data(1, Encoding.ASCII.GetBytes("hello"), FrameFlags.Syn)]));
        var stream = await session.AcceptAsync().WaitAsync(Generous);
        await using var reader = stream.ReadAllAsync().GetAsyncEnumerator();
        Assert.That(await reader.MoveNextAsync().AsTask().WaitAsync(Generous), Is.True);
        Assert.That(Encoding.ASCII.GetString(reader.Current.Span), Is.EqualTo("hello"));

        await SendAllAsync(peer, new byte[] { 0, 0, 10 });                  // three bytes of a header, then RST
        peer.LingerState = new LingerOption(true, 0);
        peer.Dispose();

        var error = await Assert.CatchAsync<MuxadoSessionException>(async () => await reader.MoveNextAsync().AsTask().WaitAsync(Generous))!;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.PeerEOF));
        var end = await session.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
    }

    [Test]
    public async Task A_session_whose_connection_is_cut_leaves_the_other_session_ending_with_peer_eof()
    {
        var (clientSocket, serverSocket) = await TcpSessionPair.ConnectSocketsAsync();
        await using var client = MuxSession.Create(clientSocket, SessionRole.Client);
        await using var server = MuxSession.Create(serverSocket, SessionRole.Server);

        var stream = client.Open();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("before"));
        var serverSide = await server.AcceptAsync().WaitAsync(Generous);
        await using var reader = serverSide.ReadAllAsync().GetAsyncEnumerator();
        Assert.That(await reader.MoveNextAsync().AsTask().WaitAsync(Generous), Is.True);
        Assert.That(Encoding.ASCII.GetString(reader.Current.Span), Is.EqualTo("before"));

        clientSocket.LingerState = new LingerOption(true, 0);          // the client's process dies: RST
        clientSocket.Dispose();

        var error = await Assert.CatchAsync<MuxadoSessionException>(async () => await reader.MoveNextAsync().AsTask().WaitAsync(Generous))!;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.PeerEOF));
        var end = await server.Completion.WaitAsync(Generous);
        Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(end.IsClean, Is.False);
    }

    // ---------------------------------------------------------------- concurrent writers on one stream

    [Test]
    public async Task Concurrent_writes_on_one_stream_each_arrive_contiguous()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var stream = pair.Client.Open();
        var serverSide = await pair.Server.AcceptAsync().WaitAsync(Generous);
        var reading = Task.Run(() => ReadToEndAsync(serverSide));

        const int Writers = 8;
        const int BlockSize = 300_007; // more than a window: each write waits for credit in the middle
        var blocks = Enumerable.Range(0, Writers).Select(i => RandomBytes(BlockSize, seed: 100 + i)).ToArray();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writers = blocks.Select(block => Task.Run(async () =>
        {
            await go.Task;
            await stream.WriteAsync(block);
        })).ToArray();
        go.SetResult();
        await Task.WhenAll(writers).WaitAsync(Generous);
        await stream.CloseWriteAsync();
        var received = await reading.WaitAsync(Generous);

        Assert.That(received, Has.Length.EqualTo(Writers * BlockSize));
        var seen = new List<int>();
        for (int k = 0; k < Writers; k++)
        {
            var segment = received.AsMemory(k * BlockSize, BlockSize);
            int match = Array.FindIndex(blocks, b => segment.Span.SequenceEqual(b));
            Assert.That(match, Is.Not.EqualTo(-1), $"bytes {k * BlockSize}.. are not one whole block: writes interleaved");
            seen.Add(match);
        }
        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(0, Writers)), "each block exactly once");
    }

    // ---------------------------------------------------------------- AsStream

    public sealed record OrderLine(string Sku, int Quantity, decimal Price);

    public sealed record Order(int Id, string Customer, List<OrderLine> Lines);

    public sealed record Receipt(int OrderId, int Lines, decimal Total, string Note);

    [Test]
    public async Task Json_request_and_reply_over_AsStream_with_bodies_larger_than_the_window()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var order = new Order(42, "Ünïcode ✓", Enumerable.Range(0, 6000)
            .Select(i => new OrderLine($"SKU-{i:D6}", i % 7 + 1, 0.25m * (i % 400))).ToList());

        var serving = Task.Run(async () =>
        {
            var stream = await pair.Server.AcceptAsync();
            await using var io = stream.AsStream();
            var request = await JsonSerializer.DeserializeAsync<Order>(io);
            var receipt = new Receipt(request!.Id, request.Lines.Count, request.Lines.Sum(l => l.Quantity * l.Price), new string('n', 300_000));
            await JsonSerializer.SerializeAsync(io, receipt);
        }); // disposing the Stream closes the muxado stream: FIN ends the client's deserialisation

        var stream = pair.Client.Open();
        await using var io = stream.AsStream();
        await JsonSerializer.SerializeAsync(io, order);
        await stream.CloseWriteAsync();
        var receipt = await JsonSerializer.DeserializeAsync<Receipt>(io).AsTask().WaitAsync(Generous);
        await serving.WaitAsync(Generous);

        Assert.That(receipt, Is.EqualTo(new Receipt(42, 6000, order.Lines.Sum(l => l.Quantity * l.Price), new string('n', 300_000))));
    }

    [Test]
    public async Task CopyToAsync_echo_through_AsStream_moves_megabytes_intact()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var serving = Task.Run(async () =>
        {
            var stream = await pair.Server.AcceptAsync();
            var io = stream.AsStream();
            await io.CopyToAsync(io); // reads until the client's FIN, writing each buffer back
            await stream.CloseWriteAsync();
        });

        var payload = RandomBytes(3 * 1024 * 1024 + 17, seed: 7);
        var stream = pair.Client.Open();
        var io = stream.AsStream();
        var sending = Task.Run(async () =>
        {
            await new MemoryStream(payload).CopyToAsync(io);
            await stream.CloseWriteAsync();
        });
        var received = new MemoryStream();
        await io.CopyToAsync(received).WaitAsync(Generous);
        await Task.WhenAll(sending, serving).WaitAsync(Generous);

        Assert.That(SHA256.HashData(received.ToArray()), Is.EqualTo(SHA256.HashData(payload)));
        await io.DisposeAsync();
    }

    // ---------------------------------------------------------------- cancellation

    [Test]
    public async Task A_write_waiting_for_window_is_cancelled_and_the_stream_stays_usable()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var stream = pair.Client.Open();
        var serverSide = await pair.Server.AcceptAsync().WaitAsync(Generous);

        var gate = new object();
        var chunks = new List<CreditedChunk>();
        bool holding = true;
        long total = 0;
        var windowFull = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serverSide.ReceivedWithCredit().Subscribe(
            chunk =>
            {
                lock (gate)
                {
                    chunks.Add(chunk);
                    total += chunk.Data.Length;
                    if (!holding)
                    {
                        chunk.Release();
                    }
                    if (total >= Window)
                    {
                        windowFull.TrySetResult();
                    }
                }
            },
            error => done.TrySetException(error),
            () => done.TrySetResult());

        var payload = RandomBytes(Window + 10_000, seed: 3);
        using var cts = new CancellationTokenSource();
        var write = stream.WriteAsync(payload, cts.Token).AsTask();
        await windowFull.Task.WaitAsync(Generous);
        Assert.That(write.IsCompleted, Is.False, "the reader holds all the credit");
        cts.Cancel();
        await Assert.CatchAsync<OperationCanceledException>(async () => await write.WaitAsync(Generous));

        lock (gate)
        {
            holding = false;
            foreach (var chunk in chunks)
            {
                chunk.Release();
            }
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes("tail")).AsTask().WaitAsync(Generous);
        await stream.CloseWriteAsync();
        await done.Task.WaitAsync(Generous);

        byte[] received;
        lock (gate)
        {
            received = [.. chunks.SelectMany(c => c.Data.ToArray())];
        }
        byte[] expected = [.. payload.AsSpan(0, Window), .. "tail"u8];
        Assert.That(received.AsSpan().SequenceEqual(expected), Is.True,
            "the cancelled write sent exactly the window; the next write follows it");
    }

    [Test]
    public async Task A_cancelled_accept_throws_and_the_next_accept_still_gets_the_next_stream()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        using (var cts = new CancellationTokenSource())
        {
            var accept = pair.Server.AcceptAsync(cts.Token);
            cts.Cancel();
            await Assert.CatchAsync<OperationCanceledException>(async () => await accept.WaitAsync(Generous));
        }
        var stream = pair.Client.Open();
        var next = await pair.Server.AcceptAsync().WaitAsync(Generous);
        Assert.That(next.Id, Is.EqualTo(stream.Id));

        // Cancellations racing arrivals: whichever wins, every stream is accepted exactly once.
        var random = new Random(5);
        var accepted = new List<uint>();
        var opened = new List<uint>();
        for (int i = 0; i < 50; i++)
        {
            using var cts = new CancellationTokenSource();
            var accept = pair.Server.AcceptAsync(cts.Token);
            opened.Add(pair.Client.Open().Id);
            if (random.Next(2) == 0)
            {
                cts.Cancel();
            }
            else
            {
                cts.CancelAfter(random.Next(0, 3));
            }
            try
            {
                accepted.Add((await accept.WaitAsync(Generous)).Id);
            }
            catch (OperationCanceledException)
            {
                accepted.Add((await pair.Server.AcceptAsync().WaitAsync(Generous)).Id);
            }
        }
        Assert.That(accepted, Is.EqualTo(opened));
    }

    // ---------------------------------------------------------------- SendTo

    [Test]
    public async Task SendTo_writes_a_source_larger_than_the_window_and_completes_with_fin()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var stream = pair.Client.Open();
        var serverSide = await pair.Server.AcceptAsync().WaitAsync(Generous);
        var reading = Task.Run(() => ReadToEndAsync(serverSide));

        var chunks = Enumerable.Range(0, 100).Select(i => RandomBytes(10_000, seed: 1000 + i)).ToArray();
        var totals = await chunks.Select(c => (ReadOnlyMemory<byte>)c).ToObservable()
            .SendTo(stream)
            .ToList()
            .ToTask()
            .WaitAsync(Generous);
        var received = await reading.WaitAsync(Generous);

        Assert.That(totals, Is.EqualTo(Enumerable.Range(1, 100).Select(i => i * 10_000L)));
        Assert.That(received.AsSpan().SequenceEqual(chunks.SelectMany(c => c).ToArray()), Is.True, "all bytes, then FIN ended the reader");
    }

    [Test]
    public async Task SendTo_fails_a_source_that_outruns_the_window_by_more_than_its_buffer_and_resets_the_stream()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var stream = pair.Client.Open();
        var serverSide = await pair.Server.AcceptAsync().WaitAsync(Generous); // never reads

        const int MaxBuffered = 64 * 1024;
        const int ChunkSize = 1024;
        var source = new Subject<ReadOnlyMemory<byte>>();
        Exception? error = null;
        long written = 0;
        using var subscription = source.SendTo(stream, maxBufferedBytes: MaxBuffered)
            .Subscribe(total => Volatile.Write(ref written, total), e => error = e);
        var chunk = new byte[ChunkSize];
        long pushed = 0;
        while (error is null && pushed < 10 * (Window + MaxBuffered))
        {
            source.OnNext(chunk);
            pushed += ChunkSize;
        }

        Assert.That(error, Is.InstanceOf<InvalidOperationException>());
        Assert.That(pushed, Is.GreaterThan(Window + MaxBuffered - ChunkSize), "the window and the buffer were used");
        Assert.That(pushed, Is.LessThanOrEqualTo(Window + MaxBuffered + 2 * ChunkSize), "...and nothing beyond them");
        Assert.That(Volatile.Read(ref written), Is.LessThanOrEqualTo(Window));

        var reset = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        serverSide.Received.Subscribe(_ => { }, e => reset.TrySetResult(e), () => reset.TrySetResult(new InvalidOperationException("completed")));
        var peerSees = await reset.Task.WaitAsync(Generous) as MuxadoStreamException;
        Assert.That(peerSees?.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        Assert.That(peerSees?.ByPeer, Is.True);
    }

    [Test]
    public async Task SendTo_passes_a_source_error_on_and_resets_the_stream()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var stream = pair.Client.Open();
        var serverSide = await pair.Server.AcceptAsync().WaitAsync(Generous);

        var failure = new InvalidDataException("source broke");
        var source = Observable.Return((ReadOnlyMemory<byte>)new byte[10]).Concat(Observable.Throw<ReadOnlyMemory<byte>>(failure));
        var result = await Assert.CatchAsync<InvalidDataException>(async () => await source.SendTo(stream).ToTask().WaitAsync(Generous));
        Assert.That(result, Is.SameAs(failure));

        var reset = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        serverSide.Received.Subscribe(_ => { }, e => reset.TrySetResult(e), () => reset.TrySetResult(null));
        Assert.That((await reset.Task.WaitAsync(Generous) as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.StreamCancelled));
    }

    // ---------------------------------------------------------------- racing closes

    [Test]
    public async Task Disposing_a_stream_and_its_session_from_many_threads_at_once_sends_one_fin_and_one_goaway()
    {
        var (socket, peer) = await TcpSessionPair.ConnectSocketsAsync();
        using var _ = peer;
        var session = MuxSession.Create(socket, SessionRole.Client);
        var stream = session.Open();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("x"));

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await go.Task;
            if (i % 2 == 0)
            {
                await stream.DisposeAsync();
            }
            await session.DisposeAsync();
            return await session.Completion;
        })).ToArray();
        go.SetResult();
        var ends = await Task.WhenAll(closers).WaitAsync(Generous);

        Assert.That(ends.Distinct().Count(), Is.EqualTo(1), "one end, seen by everyone");
        Assert.That(ends[0].IsClean, Is.True);
        var frames = GoTranscripts.Decode(await ReadSocketToEndAsync(peer));
        Assert.That(frames.Where(f => f.Type == FrameType.GoAway), Is.EqualTo(new[] { Frame.GoAway(0, ErrorCode.NoError, "no error") }));
        Assert.That(frames[^1].Type, Is.EqualTo(FrameType.GoAway), "nothing after the GOAWAY");
        Assert.That(frames.Count(f => f.IsFin), Is.LessThanOrEqualTo(1), "a stream sends FIN at most once");
        Assert.That(frames.Take(2), Is.EqualTo(new[]
        {
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, Encoding.ASCII.GetBytes("x")),
        }));
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Block <paramref name="index"/> of a numbered sequence: its index, then a pattern, so reordering shows.</summary>
    private static byte[] Block(int index, int size)
    {
        var block = new byte[size];
        for (int i = 4; i < size; i++)
        {
            block[i] = (byte)((i * 7) + index);
        }
        BinaryPrimitives.WriteInt32BigEndian(block, index);
        return block;
    }

    private static async Task SendAllAsync(Socket socket, byte[] bytes)
    {
        using var cts = new CancellationTokenSource(Generous);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cts.Token);
        }
    }

    /// <summary>Everything the peer writes until it closes the connection.</summary>
    private static async Task<byte[]> ReadSocketToEndAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Generous);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0)
            {
                return all.ToArray();
            }
            all.Write(buffer, 0, n);
        }
    }
}
