using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using static Muxado.Reactive.Tests.Sessions.StreamIO;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// The session over loopback TCP on every scheduler a user may pass as <see cref="MuxSessionOptions.Scheduler"/>
/// (issue 10, "Every scheduler"): the default <see cref="MuxSchedulers.Delivery"/>, the .NET thread pool, an
/// <c>EventLoopScheduler</c> and a <c>SynchronizationContextScheduler</c> over a single-threaded context standing in for a
/// UI dispatcher. Every notification to user code runs outside the session lock and, where the scheduler has threads
/// of its own, on them.
/// </summary>
/// <remarks>
/// Every wait is bounded by <see cref="Generous"/>, far above what a loaded 2-core machine needs, so a hang fails instead
/// of blocking the run; nothing sleeps to let something happen. Each test gets a fresh scheduler.
/// </remarks>
[TestFixtureSource(typeof(SchedulerUnderTest), nameof(SchedulerUnderTest.Names))]
public partial class SchedulerMatrixTests(string schedulerName)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private const int Seed = 20_260_110;

    private SchedulerUnderTest _scheduler = null!;

    private MuxSessionOptions Options => new() { Scheduler = _scheduler.Scheduler };

    [SetUp]
    public void CreateScheduler() => _scheduler = SchedulerUnderTest.Create(schedulerName);

    [TearDown]
    public void DisposeScheduler()
    {
        var faults = _scheduler.DispatcherFaults.ToList();
        _scheduler.Dispose();
        Assert.That(faults, Is.Empty, "exceptions escaped into the dispatcher (a UI application would have crashed)");
    }

    // ---------------------------------------------------------------- (a) round trips with Received

    [Test]
    public async Task Echo_round_trips_through_Received_notify_on_the_scheduler_and_outside_the_session_lock()
    {
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(Options, Options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        var echoes = new ConcurrentQueue<Task>();
        using var incoming = pair.Server.Incoming.Subscribe(
            stream =>
            {
                probe.Check("Incoming.OnNext");
                echoes.Enqueue(EchoThroughReceived(stream, probe));
            },
            error => probe.Violation($"Incoming failed: {error}"));

        const int Streams = 16;
        var random = new Random(Seed);
        // Up to 300 KiB: most streams are longer than a window, so credit cycles through Received's OnNext.
        var payloads = Enumerable.Range(0, Streams).Select(i => StreamPayloads.Create(Seed + i, random.Next(0, 300 * 1024))).ToArray();
        var echoed = await Task.WhenAll(payloads.Select(p => Task.Run(() => RoundTripThroughReceivedAsync(pair.Client, p, probe)))).WaitAsync(Generous);
        Assert.That(echoes, Has.Count.EqualTo(Streams), "every stream reached the Incoming subscriber");
        await Task.WhenAll(echoes).WaitAsync(Generous);

        for (int i = 0; i < Streams; i++)
        {
            Assert.That(echoed[i].Length, Is.EqualTo(payloads[i].Length), $"stream #{i}");
            Assert.That(SHA256.HashData(echoed[i]), Is.EqualTo(SHA256.HashData(payloads[i])), $"stream #{i}: SHA-256 of the echo");
        }
        probe.AssertClean(minimumChecks: Streams * 4);
    }

    /// <summary>Opens a stream, reads it with Received, writes the payload in three pieces, half-closes; returns the echo.</summary>
    private static async Task<byte[]> RoundTripThroughReceivedAsync(MuxSession session, byte[] payload, Probe probe)
    {
        var stream = await session.OpenAsync();
        var received = new MemoryStream();
        var done = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = stream.Received.Subscribe(
            chunk =>
            {
                probe.Check("Received.OnNext (opener)");
                received.Write(chunk.Span);
            },
            error =>
            {
                probe.Check("Received.OnError (opener)");
                done.TrySetException(error);
            },
            () =>
            {
                probe.Check("Received.OnCompleted (opener)");
                done.TrySetResult(received.ToArray());
            });
        int third = payload.Length / 3;
        await stream.WriteAsync(payload.AsMemory(0, third));
        await stream.WriteAsync(payload.AsMemory(third, third));
        await stream.WriteAsync(payload.AsMemory(2 * third));
        await stream.CloseWriteAsync();
        var back = await done.Task.WaitAsync(Generous);
        await stream.DisposeAsync();
        return back;
    }

    /// <summary>
    /// Echoes a stream from inside its Received notifications (writes are applied in call order, so each chunk goes
    /// back in order and the FIN after the last); completes when every write and the FIN are done.
    /// </summary>
    private static Task EchoThroughReceived(MuxStream stream, Probe probe)
    {
        var finished = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = new List<Task>();
        stream.Received.Subscribe(
            chunk =>
            {
                probe.Check("Received.OnNext (acceptor)");
                writes.Add(stream.WriteAsync(chunk).AsTask());
            },
            error =>
            {
                probe.Check("Received.OnError (acceptor)");
                finished.TrySetException(error);
            },
            () =>
            {
                probe.Check("Received.OnCompleted (acceptor)");
                writes.Add(stream.CloseWriteAsync().AsTask());
                finished.TrySetResult(Task.WhenAll(writes));
            });
        return finished.Task.Unwrap();
    }

    // ---------------------------------------------------------------- (b) the Stream bridge inside a handler

    [Test]
    public async Task Synchronous_Read_and_Write_through_AsStream_inside_an_Incoming_handler_complete()
    {
        // Only the server runs on the scheduler under test: its handler blocks that scheduler's thread, and a client on
        // the same single thread could then not read the reply that the handler's Write waits to have credited.
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(new MuxSessionOptions(), Options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        const int Streams = 3;
        const int RequestLength = 100 * 1024;
        const int ReplyLength = 300 * 1024; // beyond the 256 KiB window: the synchronous Write must wait for credit
        var served = new ConcurrentQueue<(uint Id, byte[] RequestHash)>();
        var failures = new ConcurrentQueue<Exception>();
        using var incoming = pair.Server.Incoming.Subscribe(stream =>
        {
            probe.Check("Incoming.OnNext");
            try
            {
                using (var io = stream.AsStream())
                {
                    var request = new MemoryStream();
                    var buffer = new byte[16 * 1024];
                    int n;
                    while ((n = io.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        request.Write(buffer, 0, n);
                    }
                    var reply = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, stream.Id, fromOpener: false), ReplyLength);
                    io.Write(reply, 0, reply.Length);
                    served.Enqueue((stream.Id, SHA256.HashData(request.ToArray())));
                } // the synchronous Dispose closes the stream: FIN
                probe.Check("the handler after its synchronous calls");
            }
            catch (Exception ex)
            {
                failures.Enqueue(ex);
            }
        });

        var clients = Enumerable.Range(0, Streams).Select(_ => Task.Run(async () =>
        {
            var stream = pair.Client.Open();
            var request = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, stream.Id, fromOpener: true), RequestLength);
            var reading = ReadToEndAsync(stream);
            await stream.WriteAsync(request);
            await stream.CloseWriteAsync();
            var reply = await reading.WaitAsync(Generous);
            return (stream.Id, Request: request, Reply: reply);
        })).ToArray();
        var results = await Task.WhenAll(clients).WaitAsync(Generous);

        Assert.That(failures, Is.Empty, "the handler's synchronous calls");
        foreach (var (id, request, reply) in results)
        {
            var expected = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, id, fromOpener: false), ReplyLength);
            Assert.That(SHA256.HashData(reply), Is.EqualTo(SHA256.HashData(expected)), $"stream {id}: the reply the handler wrote synchronously");
            Assert.That(served.Single(s => s.Id == id).RequestHash, Is.EqualTo(SHA256.HashData(request)), $"stream {id}: the request the handler read synchronously");
        }
        probe.AssertClean(minimumChecks: 2 * Streams);
    }

    // ---------------------------------------------------------------- (c) many streams both ways

    [Test]
    public async Task Sixty_four_streams_of_64_KiB_both_ways_at_once_arrive_intact()
    {
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(Options, Options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        const int Streams = 64;
        const int Length = 64 * 1024;
        var acceptors = new ConcurrentQueue<Task<Exchange>>();
        void Accept(MuxStream stream)
        {
            probe.Check("Incoming.OnNext");
            // Counted before it starts: the exchange sends all it has before its first real await, so an opener can
            // finish (and the count below be checked) before ExchangeAsync returns its task.
            var exchange = new Task<Task<Exchange>>(() => ExchangeAsync(stream, isOpener: false, Length, probe));
            acceptors.Enqueue(exchange.Unwrap());
            exchange.RunSynchronously();
        }
        using var clientIncoming = pair.Client.Incoming.Subscribe(Accept, e => probe.Violation($"client Incoming failed: {e}"));
        using var serverIncoming = pair.Server.Incoming.Subscribe(Accept, e => probe.Violation($"server Incoming failed: {e}"));

        // Half the streams opened by each side.
        var openers = Enumerable.Range(0, Streams)
            .Select(i => Task.Run(() => ExchangeAsync((i % 2 == 0 ? pair.Client : pair.Server).Open(), isOpener: true, Length, probe)))
            .ToArray();
        var opened = await Task.WhenAll(openers).WaitAsync(Generous);
        Assert.That(acceptors, Has.Count.EqualTo(Streams));
        var accepted = await Task.WhenAll(acceptors).WaitAsync(Generous);

        var all = opened.Concat(accepted).ToList();
        Assert.That(all.Where(e => !e.Intact).Select(e => e.ToString()), Is.Empty, "every direction of every stream, by SHA-256");
        Assert.That(all.Select(e => (e.StreamId, e.IsOpener)).Distinct().Count(), Is.EqualTo(2 * Streams));
        probe.AssertClean(minimumChecks: 2 * Streams);
    }

    private sealed record Exchange(uint StreamId, bool IsOpener, long Received, bool Intact)
    {
        public override string ToString() => $"stream {StreamId} ({(IsOpener ? "opener" : "acceptor")}): {Received} bytes, intact {Intact}";
    }

    /// <summary>
    /// Sends this side's payload of the stream in 16 KiB writes and half-closes, reads the other side's through
    /// Received, and checks it by SHA-256 against what the other side must have sent.
    /// </summary>
    private static async Task<Exchange> ExchangeAsync(MuxStream stream, bool isOpener, int length, Probe probe)
    {
        var reader = new HashingObserver(probe, isOpener ? "opener" : "acceptor");
        stream.Received.Subscribe(reader);
        var payload = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, stream.Id, isOpener), length);
        for (int offset = 0; offset < length; offset += 16 * 1024)
        {
            await stream.WriteAsync(payload.AsMemory(offset, Math.Min(16 * 1024, length - offset)));
        }
        await stream.CloseWriteAsync();
        var (hash, received, error) = await reader.Done.WaitAsync(Generous);
        if (error is not null)
        {
            throw new AssertionException($"stream {stream.Id}: reading failed: {error}");
        }
        var expected = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, stream.Id, !isOpener), length);
        return new Exchange(stream.Id, isOpener, received, received == length && hash.AsSpan().SequenceEqual(SHA256.HashData(expected)));
    }

    // ---------------------------------------------------------------- (d) re-subscription loses nothing

    [Test]
    public async Task A_reader_that_resubscribes_in_a_loop_loses_no_byte_and_sees_the_completion()
    {
        // A window of 1 KiB: 20,000 bytes need the credit to come back about 20 times, so a chunk dropped between
        // two subscriptions (or its credit lost) shows as a missing byte or a writer that never finishes. Three such
        // streams at once, for more unsubscriptions racing deliveries.
        var options = Options with { WindowSize = 1024 };
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(options, options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        const int Streams = 3;
        const int Bytes = 20_000;
        var runs = new List<(Task Writing, Task<int> Resubscribing, ResubscribedBytes Seen)>();
        for (int s = 0; s < Streams; s++)
        {
            var writer = pair.Client.Open();
            var reader = await pair.Server.AcceptAsync().WaitAsync(Generous);
            var seen = new ResubscribedBytes(Bytes);
            runs.Add((Task.Run(() => WriteOneByteAtATimeAsync(writer, Bytes)), ResubscribeUntilCompleted(reader, seen, probe, new Random(Seed + s)), seen));
        }

        foreach (var (writing, resubscribing, seen) in runs)
        {
            long total = await seen.Completed.Task.WaitAsync(Generous);
            int subscriptions = await resubscribing.WaitAsync(Generous);
            await writing.WaitAsync(Generous);
            TestContext.Out.WriteLine($"{subscriptions} subscriptions, {seen.Deliveries} deliveries on {_scheduler.Name}");
            Assert.That(seen.FirstMismatch, Is.Null, "every byte in order");
            Assert.That(total, Is.EqualTo(Bytes), "every byte exactly once");
        }
        probe.AssertClean(minimumChecks: 2 * Streams);
    }

    private static async Task WriteOneByteAtATimeAsync(MuxStream writer, int bytes)
    {
        var one = new byte[1];
        for (int i = 0; i < bytes; i++)
        {
            one[0] = (byte)(i % 251);
            await writer.WriteAsync(one); // the buffer may be reused once the write returns
        }
        await writer.CloseWriteAsync();
    }

    /// <summary>
    /// On a thread of its own, never one that delivers: subscribes to <paramref name="reader"/>'s Received and
    /// unsubscribes, in a loop, until a subscription sees the completion. Returns the number of subscriptions.
    /// </summary>
    private static Task<int> ResubscribeUntilCompleted(MuxStream reader, ResubscribedBytes seen, Probe probe, Random lifetimes) =>
        Task.Factory.StartNew(() =>
        {
            int subscriptions = 0;
            var clock = Stopwatch.StartNew();
            while (!seen.Completed.Task.IsCompleted && clock.Elapsed < Generous)
            {
                var observer = new ResubscribingObserver(seen, probe);
                var subscription = reader.Received.Subscribe(observer);
                subscriptions++;
                // Lives until it was handed something, or for a random few spins: often disposed before anything came,
                // often while the next delivery is under way.
                int spins = lifetimes.Next(0, 64);
                var spinner = new SpinWait();
                while (!observer.HasDelivered && spins-- > 0 && !seen.Completed.Task.IsCompleted)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                }
                subscription.Dispose();
                observer.MarkUnsubscribed();
            }
            return subscriptions;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // ---------------------------------------------------------------- (e) reset by the peer

    [Test]
    public async Task A_stream_reset_by_the_peer_fails_its_readers_and_writers_with_the_code()
    {
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(Options, Options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        var observed = pair.Client.Open();
        var pulled = pair.Client.Open();
        var observedThere = await pair.Server.AcceptAsync().WaitAsync(Generous);
        var pulledThere = await pair.Server.AcceptAsync().WaitAsync(Generous);
        Assert.That((observedThere.Id, pulledThere.Id), Is.EqualTo((observed.Id, pulled.Id)), "accepted in SYN order");

        var firstChunk = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = observedThere.Received.Subscribe(
            chunk =>
            {
                probe.Check("Received.OnNext");
                firstChunk.TrySetResult(Encoding.ASCII.GetString(chunk.Span));
            },
            error =>
            {
                probe.Check("Received.OnError");
                failed.TrySetResult(error);
            },
            () => failed.TrySetException(new AssertionException("Received completed instead of failing")));
        await observed.WriteAsync(Encoding.ASCII.GetBytes("abc"));
        Assert.That(await firstChunk.Task.WaitAsync(Generous), Is.EqualTo("abc"));
        await using var pending = pulledThere.ReadAllAsync().GetAsyncEnumerator();
        var waiting = pending.MoveNextAsync().AsTask(); // nothing was sent on it: it waits

        const ErrorCode Unlisted = (ErrorCode)0x77; // a code the enum does not name is kept as its number
        observed.Reset(ErrorCode.StreamReset);
        pulled.Reset(Unlisted);

        var observedError = await failed.Task.WaitAsync(Generous) as MuxadoStreamException;
        Assert.That((observedError?.Code, observedError?.ByPeer, observedError?.StreamId), Is.EqualTo((ErrorCode.StreamReset, true, observed.Id)));
        var pulledError = await Assert.CatchAsync<MuxadoStreamException>(async () => await waiting.WaitAsync(Generous));
        Assert.That((pulledError?.Code, pulledError?.ByPeer), Is.EqualTo((Unlisted, true)));

        // The writer of the reset stream fails with the code too, and a later reader gets the same ending.
        var writeError = await Assert.CatchAsync<MuxadoStreamException>(async () => await observedThere.WriteAsync(new byte[1]).AsTask().WaitAsync(Generous));
        Assert.That(writeError?.Code, Is.EqualTo(ErrorCode.StreamReset));
        subscription.Dispose();
        var late = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var lateSubscription = observedThere.Received.Subscribe(
            _ => late.TrySetException(new AssertionException("data after the reset")),
            error =>
            {
                probe.Check("Received.OnError (late reader)");
                late.TrySetResult(error);
            },
            () => late.TrySetResult(null));
        Assert.That((await late.Task.WaitAsync(Generous) as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.StreamReset));

        Assert.That(pair.Server.Completion.IsCompleted || pair.Client.Completion.IsCompleted, Is.False, "a stream's reset leaves the session alone");
        probe.AssertClean(minimumChecks: 3);
    }

    // ---------------------------------------------------------------- (f) the session's end

    public enum SessionEndKind
    {
        /// <summary>The session with the readers is disposed.</summary>
        LocalDispose,

        /// <summary>The peer closes cleanly: GOAWAY NoError, then end of stream.</summary>
        PeerClosesCleanly,

        /// <summary>The peer's process dies: the connection is reset.</summary>
        ConnectionCut,
    }

    [Test]
    public async Task The_sessions_end_reaches_every_reader_after_its_buffered_data([Values] SessionEndKind how)
    {
        await using var pair = await TcpSessionPairWithSockets.ConnectAsync(Options, Options);
        var probe = new Probe(_scheduler, pair.Client, pair.Server);
        const int Streams = 9;
        var sent = new Dictionary<uint, byte[]>();
        var finished = new HashSet<uint>();
        var opened = Enumerable.Range(0, Streams).Select(_ => pair.Client.Open()).ToArray();
        var there = new Dictionary<uint, MuxStream>();
        for (int i = 0; i < Streams; i++)
        {
            var accepted = await pair.Server.AcceptAsync().WaitAsync(Generous);
            there.Add(accepted.Id, accepted);
        }

        // A third of the readers attach before the end (they may or may not have read by then), the rest after it.
        var readers = new Dictionary<uint, HashingObserver>();
        foreach (var stream in opened.Where((_, i) => i % 3 == 0))
        {
            readers[stream.Id] = Attach(there[stream.Id], probe);
        }
        for (int i = 0; i < Streams; i++)
        {
            var payload = StreamPayloads.Create(StreamPayloads.SeedOf(Seed, opened[i].Id, fromOpener: true), 10_000 + 1_000 * i);
            sent[opened[i].Id] = payload;
            await opened[i].WriteAsync(payload);
            if (i % 2 == 0)
            {
                await opened[i].CloseWriteAsync();
                finished.Add(opened[i].Id);
            }
        }
        // Frames are applied in wire order: once the marker's byte has been read, every frame above is in the buffers.
        var marker = pair.Client.Open();
        await marker.WriteAsync(new byte[] { 42 });
        var markerThere = await pair.Server.AcceptAsync().WaitAsync(Generous);
        await using (var markerReader = markerThere.ReadAllAsync().GetAsyncEnumerator())
        {
            Assert.That(await markerReader.MoveNextAsync().AsTask().WaitAsync(Generous), Is.True);
        }

        ErrorCode expected;
        switch (how)
        {
            case SessionEndKind.LocalDispose:
                await pair.Server.DisposeAsync().AsTask().WaitAsync(Generous);
                expected = ErrorCode.SessionClosed;
                break;
            case SessionEndKind.PeerClosesCleanly:
                await pair.Client.DisposeAsync().AsTask().WaitAsync(Generous);
                expected = ErrorCode.SessionClosed;
                break;
            default:
                pair.ClientSocket.LingerState = new LingerOption(true, 0);
                pair.ClientSocket.Dispose();
                expected = ErrorCode.PeerEOF;
                break;
        }
        var end = await pair.Server.Completion.WaitAsync(Generous);
        Assert.That(end.IsClean, Is.EqualTo(how != SessionEndKind.ConnectionCut), end.ToString());

        foreach (var stream in opened.Where(s => !readers.ContainsKey(s.Id)))
        {
            readers[stream.Id] = Attach(there[stream.Id], probe);
        }
        foreach (var (id, reader) in readers)
        {
            var (hash, received, error) = await reader.Done.WaitAsync(Generous);
            Assert.That(received, Is.EqualTo(sent[id].Length), $"stream {id}: every buffered byte before the end");
            Assert.That(hash, Is.EqualTo(SHA256.HashData(sent[id])), $"stream {id}: SHA-256");
            if (finished.Contains(id))
            {
                Assert.That(error, Is.Null, $"stream {id} had its FIN: it completes");
            }
            else
            {
                Assert.That(error, Is.InstanceOf<MuxadoSessionException>(), $"stream {id} had no FIN: it fails with the session's end");
                Assert.That(((MuxadoException)error!).Code, Is.EqualTo(expected), $"stream {id}");
            }
        }
        probe.AssertClean(minimumChecks: 2 * Streams);
    }

    private static HashingObserver Attach(MuxStream stream, Probe probe)
    {
        var reader = new HashingObserver(probe, $"stream {stream.Id}");
        stream.Received.Subscribe(reader);
        return reader;
    }

    // ---------------------------------------------------------------- helpers

}
