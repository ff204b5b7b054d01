using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Who gets room in the write queue while streams wait for it (<see cref="WriteRoomTurns"/>): the order of waiting, the
/// short list's place, and its bound beside bulk streams, in the cases a single wake-up does not show (a small queue,
/// a wake-up that brings no room, waits that were cancelled); and how the session is woken for room (one watch on the
/// transport at a time, none on a transport that failed). Virtual time, mostly over a <see cref="ThrottledLink"/> sink,
/// as in <see cref="WriteProgressTests"/>.
/// </summary>
public class WriteRoomTurnsTests
{
    private const int KiB = 1024;

    /// <summary>A session over a stalled sink whose write queue a filler has taken whole.</summary>
    private sealed class FullQueue
    {
        public FullQueue(bool queueing, long maxWriteQueueBytes)
        {
            Link = ThrottledLink.CreateSink(Scheduler, 0, queueing);
            Session = MuxSession.Client(Link, new MuxSessionOptions
            {
                Scheduler = Scheduler,
                OpenWithEmptySyn = false,
                MaxWriteQueueBytes = maxWriteQueueBytes,
            });
            Filler = Session.Open();
            Assert.That(Filler.WriteAsync(new byte[maxWriteQueueBytes]).AsTask().IsCompletedSuccessfully, Is.True, "the filler took the whole queue");
        }

        public BoundedTestScheduler Scheduler { get; } = new();
        public ThrottledLink Link { get; }
        public MuxSession Session { get; }
        public MuxStream Filler { get; }

        public void RunTo(TimeSpan time) => Scheduler.RunTo(time.Ticks, maxSteps: 1_000_000);

        /// <summary>The DATA frames with bytes, in wire order, without the filler's.</summary>
        public List<LinkFrame> Data() => Link.Queued.Where(f => f.Type == FrameType.Data && f.Length > 0 && f.StreamId != Filler.Id).ToList();
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Streams_of_short_writes_cannot_starve_a_bulk_stream_when_the_queue_is_smaller_than_two_turns(bool queueing)
    {
        // MaxWriteQueueBytes of 16 KiB: room comes 8 KiB at a time, less than the short list's 16 KiB of room before a
        // bulk stream's turn. That budget must carry over from one wake-up to the next; counted afresh at each, the short
        // list never used it up, and the bulk stream waited until the short writers had nothing more to write.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, 16 * KiB);
        var bulk = queue.Session.Open();
        var bulkWrite = bulk.WriteAsync(new byte[64 * KiB]).AsTask();
        var shorts = Enumerable.Range(0, 64).Select(_ => queue.Session.Open()).ToList();
        var shortWriting = shorts.Select(async s =>
        {
            for (int i = 0; i < 16; i++)
            {
                await s.WriteAsync(new byte[KiB]);
            }
        }).ToList();
        queue.RunTo(TimeSpan.FromSeconds(1));
        Assert.That(shortWriting.Append(bulkWrite).Where(w => w.IsCompleted), Is.Empty, "everyone waits for room");

        queue.Link.BytesPerSecond = 256 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(30));

        Assert.That(shortWriting.Append(bulkWrite).Where(w => !w.IsCompletedSuccessfully), Is.Empty, "every write completed");
        var data = queue.Data();
        int bulkFirst = data.FindIndex(f => f.StreamId == bulk.Id);
        long shortBytesFirst = data.Take(bulkFirst).Sum(f => (long)f.Length);
        Assert.That(shortBytesFirst, Is.LessThanOrEqualTo(WriteRoomTurns.TurnBytes),
            $"the short list took one turn's worth of room before the bulk stream's first turn (of {64 * 16 * KiB} short bytes in all)");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Writers_waiting_for_room_keep_their_order_when_one_of_them_is_reset_while_the_queue_is_full(bool queueing)
    {
        // A waiting stream that is reset asks the session to look at the turns again (it no longer holds up the others),
        // while the queue is still full. That look must not begin a turn: the head would take nothing and go to the back.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, 4 * KiB);
        var streams = Enumerable.Range(0, 10).Select(_ => queue.Session.Open()).ToList();
        var order = new[] { 6, 2, 9, 0, 4, 7, 1, 8, 3, 5 }.Select(i => streams[i]).ToList();
        var writes = order.Select(s => s.WriteAsync(new byte[3 * KiB]).AsTask()).ToList();
        queue.RunTo(TimeSpan.FromSeconds(1));
        Assert.That(writes.Where(w => w.IsCompleted), Is.Empty, "all ten wait for room");

        var reset = order[4];
        reset.Reset();
        queue.RunTo(TimeSpan.FromSeconds(2));
        Assert.That(writes[4].IsFaulted, Is.True, "the reset stream's write failed");
        _ = writes[4].Exception;
        queue.Link.BytesPerSecond = 16 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(10));

        var others = order.Where(s => s != reset).ToList();
        Assert.That(writes.Where((w, i) => i != 4 && !w.IsCompletedSuccessfully), Is.Empty, "the others' writes completed");
        var firstBytes = queue.Data().Select(f => f.StreamId).Distinct().ToList();
        Assert.That(firstBytes, Is.EqualTo(others.Select(s => s.Id).ToList()), "first bytes on the wire follow the order of waiting");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_short_write_keeps_its_place_first_when_a_waiting_stream_is_reset_while_the_queue_is_full(bool queueing)
    {
        // Four bulk streams wait, then a request of 100 bytes: it is served first when room comes, even after a look at
        // the turns that found no room (here: a fifth waiting stream was reset), which used to send it behind them all.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, 256 * KiB);
        var bulk = Enumerable.Range(0, 4).Select(_ => queue.Session.Open()).ToList();
        var bulkWrites = bulk.Select(s => s.WriteAsync(new byte[256 * KiB]).AsTask()).ToList();
        var request = queue.Session.Open();
        var requestWrite = request.WriteAsync(new byte[100]).AsTask();
        var doomed = queue.Session.Open();
        var doomedWrite = doomed.WriteAsync(new byte[256 * KiB]).AsTask();
        queue.RunTo(TimeSpan.FromSeconds(1));
        Assert.That(bulkWrites.Append(requestWrite).Append(doomedWrite).Where(w => w.IsCompleted), Is.Empty, "everyone waits for room");

        doomed.Reset();
        queue.RunTo(TimeSpan.FromSeconds(2));
        Assert.That(doomedWrite.IsFaulted, Is.True, "the reset stream's write failed");
        _ = doomedWrite.Exception;
        queue.Link.BytesPerSecond = 4 * 1024 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(30));

        Assert.That(bulkWrites.Append(requestWrite).Where(w => !w.IsCompletedSuccessfully), Is.Empty, "every write completed");
        var data = queue.Data();
        int requestAt = data.FindIndex(f => f.StreamId == request.Id);
        Assert.That(data.Take(requestAt).Sum(f => (long)f.Length), Is.Zero, "no bulk stream's turn came before the short write");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_stream_whose_wait_was_cancelled_gives_the_short_list_no_extra_turn_before_a_bulk_stream(bool queueing)
    {
        // Twenty writes wait for room and are cancelled (a caller's timeout): their streams stay in the bulk list until
        // their turn finds nothing to write. Such a turn takes no room and is no bulk stream's turn: counted as one, it
        // gave the short list another 16 KiB each time, 20 × 16 KiB ahead of the bulk stream behind them.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, 256 * KiB);
        using var timeout = new CancellationTokenSource();
        var doomedWrites = Enumerable.Range(0, 20).Select(_ => queue.Session.Open().WriteAsync(new byte[64 * KiB], timeout.Token).AsTask()).ToList();
        var bulk = queue.Session.Open();
        var bulkWrite = bulk.WriteAsync(new byte[64 * KiB]).AsTask();
        var shorts = Enumerable.Range(0, 200).Select(_ => queue.Session.Open()).ToList();
        var shortWriting = shorts.Select(async s =>
        {
            for (int i = 0; i < 4; i++)
            {
                await s.WriteAsync(new byte[KiB]);
            }
        }).ToList();
        queue.RunTo(TimeSpan.FromSeconds(1));
        timeout.Cancel();
        queue.RunTo(TimeSpan.FromSeconds(2));
        Assert.That(doomedWrites.Where(w => !w.IsCanceled), Is.Empty, "the twenty waits were cancelled");
        Assert.That(shortWriting.Append(bulkWrite).Where(w => w.IsCompleted), Is.Empty, "the others wait for room");

        queue.Link.BytesPerSecond = 4 * 1024 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(30));

        Assert.That(shortWriting.Append(bulkWrite).Where(w => !w.IsCompletedSuccessfully), Is.Empty, "every write completed");
        var data = queue.Data();
        int bulkFirst = data.FindIndex(f => f.StreamId == bulk.Id);
        Assert.That(data.Take(bulkFirst).Sum(f => (long)f.Length), Is.LessThanOrEqualTo(WriteRoomTurns.TurnBytes),
            "the short list took one turn's worth of room before the bulk stream's first turn");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Bulk_writers_that_wait_for_room_for_10_virtual_seconds_leave_no_growing_pile_of_watches_on_the_transport(bool queueing)
    {
        // Turns of 16 KiB end while the queue is under half full, and each such end asked the transport to watch the queue
        // again, so watches piled up by the hundred per second on the library's transports: each drain then called the
        // session as many times, and the pile grew for as long as the writers wrote.
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var (client, server) = ThrottledLink.CreatePair(scheduler, 16 * 1024 * KiB, queueing);
        var options = new MuxSessionOptions { Scheduler = scheduler, OpenWithEmptySyn = false };
        var session = MuxSession.Client(client, options);
        var peer = MuxSession.Server(server, options);
        long received = 0;
        peer.Incoming.Subscribe(s => s.Received.Subscribe(chunk => received += chunk.Length));
        using var stop = new CancellationTokenSource();
        var chunk = new byte[64 * KiB];
        var writers = Enumerable.Range(0, 8).Select(_ => session.Open()).Select(async s =>
        {
            try
            {
                while (true)
                {
                    await s.WriteAsync(chunk, stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }).ToList();

        scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks, maxSteps: 1_000_000);
        int inFirstSecond = client.MaxSpaceWaiters;
        client.MaxSpaceWaiters = 0;
        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks, maxSteps: 1_000_000);
        long receivedBy10 = received;
        int inNextNine = client.MaxSpaceWaiters;
        stop.Cancel();
        scheduler.RunTo(TimeSpan.FromSeconds(11).Ticks, maxSteps: 1_000_000);

        Assert.That(receivedBy10, Is.GreaterThan(150L * 1024 * KiB), "the writers kept the 16 MiB/s link busy");
        Assert.That(writers.Where(w => !w.IsCompletedSuccessfully), Is.Empty, "the writers stopped when told");
        Assert.That(inNextNine, Is.LessThanOrEqualTo(inFirstSecond),
            $"waits for write space registered at once: {inFirstSecond} in the first second, {inNextNine} in the next nine");
        if (queueing)
        {
            // Only the session's watch waits on a library transport's queue (a user's transport also has the outbox's).
            Assert.That(inNextNine, Is.EqualTo(1), "one watch at a time");
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_short_write_with_a_bulk_write_queued_behind_it_gets_a_short_turn_for_the_short_piece_only(bool queueing)
    {
        // A stream queues a 20-byte header and a 64 KiB body without waiting between them; a request of 100 bytes waits
        // after it. The stream joined the short list for its header, and its short turn took the short list's whole
        // 16 KiB of its body: the request then waited for that and for a bulk stream's turn as well.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, 256 * KiB);
        var bulk = Enumerable.Range(0, 4).Select(_ => queue.Session.Open()).ToList();
        var bulkWrites = bulk.Select(s => s.WriteAsync(new byte[256 * KiB]).AsTask()).ToList();
        var framed = queue.Session.Open();
        var header = framed.WriteAsync(new byte[20]).AsTask();
        var body = framed.WriteAsync(new byte[64 * KiB]).AsTask();
        var request = queue.Session.Open();
        var requestWrite = request.WriteAsync(new byte[100]).AsTask();
        var all = bulkWrites.Append(header).Append(body).Append(requestWrite).ToList();
        queue.RunTo(TimeSpan.FromSeconds(1));
        Assert.That(all.Where(w => w.IsCompleted), Is.Empty, "everyone waits for room");

        queue.Link.BytesPerSecond = 4 * 1024 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(30));

        Assert.That(all.Where(w => !w.IsCompletedSuccessfully), Is.Empty, "every write completed");
        var data = queue.Data();
        int requestAt = data.FindIndex(f => f.StreamId == request.Id);
        Assert.That(data.Take(requestAt).Where(f => f.StreamId != framed.Id).Sum(f => (long)f.Length), Is.Zero, "no bulk turn came before the request");
        Assert.That(data.Take(requestAt).Where(f => f.StreamId == framed.Id).Sum(f => (long)f.Length), Is.LessThanOrEqualTo(WriteRoomTurns.ShortWriteBytes),
            "the stream ahead of it in the short list took a short piece's room, not a bulk turn's");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_short_write_cut_short_by_the_room_keeps_its_place_at_the_head_of_the_short_list(bool queueing)
    {
        // With a queue of 1 KiB, room comes about 600 bytes at a time, so a request of 1000 bytes is served in two
        // pieces. It was sent to the back of the bulk list after the first, as if it were writing more than a short
        // piece, and its last 400 bytes waited for a turn of each of the eight bulk streams.
        using var inline = new InlineContinuations();
        var queue = new FullQueue(queueing, KiB);
        var bulk = Enumerable.Range(0, 8).Select(_ => queue.Session.Open()).ToList();
        var bulkWrites = bulk.Select(s => s.WriteAsync(new byte[8 * KiB]).AsTask()).ToList();
        var request = queue.Session.Open();
        var requestWrite = request.WriteAsync(new byte[1000]).AsTask();
        var all = bulkWrites.Append(requestWrite).ToList();
        queue.RunTo(TimeSpan.FromSeconds(1));
        Assert.That(all.Where(w => w.IsCompleted), Is.Empty, "everyone waits for room");

        queue.Link.BytesPerSecond = 16 * KiB;
        queue.RunTo(TimeSpan.FromSeconds(30));

        Assert.That(all.Where(w => !w.IsCompletedSuccessfully), Is.Empty, "every write completed");
        var data = queue.Data();
        int first = data.FindIndex(f => f.StreamId == request.Id);
        int last = data.FindLastIndex(f => f.StreamId == request.Id);
        Assert.That(last, Is.GreaterThan(first), "the request went out in more than one piece, as the room came");
        Assert.That(data.Take(last).Where(f => f.StreamId != request.Id).Sum(f => (long)f.Length), Is.Zero,
            "no bulk stream's bytes went out before the request's last");
    }

    /// <summary>
    /// A user's transport that reports a backlog of 1 MiB it never writes, and whose <c>OnNext</c> throws once
    /// <see cref="Broken"/> is set (a socket that died with bytes still queued).
    /// </summary>
    private sealed class BrokenBackloggedTransport : FrameTransport
    {
        private readonly System.Reactive.Subjects.Subject<Frame> _peer = new();

        public bool Broken { get; set; }

        public override IObservable<Frame> Inbound => _peer;

        public override IObserver<Frame> Outbound => System.Reactive.Observer.Create<Frame>(_ =>
        {
            if (Broken)
            {
                throw new IOException("the connection was reset");
            }
        });

        public override long PendingWriteBytes => 1024 * KiB;

        public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
            new(Task.Delay(Timeout.Infinite, cancellationToken));
    }

    [Test]
    public void A_user_transport_that_fails_while_streams_wait_for_room_ends_the_session_and_fails_their_writes()
    {
        // The outbox stops when the transport throws, and fires the session's watch. The session found no room (the
        // transport still reports its backlog), asked for a watch again, was told the output is closed, and looked again
        // at once, and again, each look inside the last one's release of the lock: the stack overflowed before the
        // session could hear that the transport failed.
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new BrokenBackloggedTransport();
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler, OpenWithEmptySyn = false });
        var first = session.Open();
        Assert.That(first.WriteAsync(new byte[KiB]).AsTask().IsCompletedSuccessfully, Is.True, "the first write fitted");
        var waiting = session.Open().WriteAsync(new byte[KiB]).AsTask();
        scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(waiting.IsCompleted, Is.False, "the second waits for room behind the transport's backlog");

        transport.Broken = true;
        first.Reset(); // a frame for the transport, which throws
        scheduler.RunTo(TimeSpan.FromSeconds(2).Ticks);

        Assert.That(session.Completion.IsCompleted, Is.True, "the session ended");
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.InternalError));
        Assert.That(waiting.IsFaulted && waiting.Exception!.InnerException is MuxadoSessionException, Is.True,
            () => $"the waiting write failed with the session's end ({waiting.Status})");
    }
}
