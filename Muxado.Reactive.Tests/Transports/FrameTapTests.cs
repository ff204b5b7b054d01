using System.Reactive.Concurrency;
using System.Reactive;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Tests.Sessions;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>Issue 12, the frame tap: every frame in and out, in order, with the inner transport's behaviour kept.</summary>
[TestFixture]
public sealed class FrameTapTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    /// <summary>A tap that keeps what it sees and whether it completed.</summary>
    private sealed class TapLog : IObserver<TappedFrame>
    {
        private readonly List<TappedFrame> _frames = [];
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<TappedFrame> Frames
        {
            get
            {
                lock (_frames)
                {
                    return [.. _frames];
                }
            }
        }

        public Task Completed => _completed.Task;

        public IEnumerable<Frame> Direction(FrameDirection direction) =>
            Frames.Where(f => f.Direction == direction).Select(f => f.Frame);

        public void OnNext(TappedFrame value)
        {
            lock (_frames)
            {
                _frames.Add(value);
            }
        }

        public void OnError(Exception error) => _completed.TrySetException(error);

        public void OnCompleted() => _completed.TrySetResult();
    }

    /// <summary>Closes both sessions, running virtual time until they have ended.</summary>
    private static void Close(BoundedTestScheduler scheduler, MuxSession client, MuxSession server)
    {
        var closing = Task.WhenAll(client.DisposeAsync().AsTask(), server.DisposeAsync().AsTask());
        scheduler.RunUntilCompleted(closing).GetAwaiter().GetResult();
        scheduler.RunUntilIdle();
    }

    private static async Task<byte[]> EchoOnceAsync(MuxSession client, string text)
    {
        var stream = await client.OpenAsync();
        await stream.WriteAsync(B(text));
        await stream.CloseWriteAsync();
        return await StreamIO.ReadToEndAsync(stream);
    }

    [Test]
    public void Over_the_in_memory_pair_each_side_sees_what_the_other_sent_in_order_and_as_lines()
    {
        var scheduler = new BoundedTestScheduler();
        var (left, right) = scheduler.CreateInMemoryPair();
        var clientTap = new TapLog();
        var serverTap = new TapLog();
        var client = MuxSession.Client(left.Tap(clientTap, scheduler), scheduler.SessionOptions());
        var server = MuxSession.Server(right.Tap(serverTap, scheduler), scheduler.SessionOptions());
        server.Incoming.Subscribe(s => _ = StreamIO.EchoAsync(s));

        var reply = scheduler.Run(() => EchoOnceAsync(client, "hello"));
        scheduler.RunUntilIdle();

        Assert.That(Encoding.ASCII.GetString(reply), Is.EqualTo("hello"));
        Assert.That(clientTap.Frames.Select(f => f.ToString()), Is.EqualTo(new[]
        {
            "-> DATA[3] SYN len=0",
            "-> DATA[3] len=5",
            "-> DATA[3] FIN len=0",
            "<- DATA[3] len=5",
            "<- DATA[3] FIN len=0",
        }));
        // The tap copied each payload: it still reads "hello" after the transports reused their buffers.
        Assert.That(clientTap.Direction(FrameDirection.Outbound).Select(f => Encoding.ASCII.GetString(f.Payload.Span)), Does.Contain("hello"));
        Assert.That(serverTap.Direction(FrameDirection.Inbound), Is.EqualTo(clientTap.Direction(FrameDirection.Outbound)));
        Assert.That(clientTap.Direction(FrameDirection.Inbound), Is.EqualTo(serverTap.Direction(FrameDirection.Outbound)));
        Assert.That(clientTap.Frames.Select(f => f.At), Is.Ordered);

        Close(scheduler, client, server);
        Assert.That(clientTap.Completed.IsCompletedSuccessfully, Is.True);
        Assert.That(clientTap.Frames.Last(f => f.Direction == FrameDirection.Outbound).ToString(), Does.StartWith("-> GOAWAY[0] last=0 NoError"));
    }

    [Test]
    public void The_tap_s_scheduler_is_never_called_under_the_session_lock()
    {
        // The in-memory transport is a library transport: the session writes to it under its lock, so the tap records
        // outbound frames there. Waking the tap's drain is a call to the user's scheduler and must wait for the release.
        var scheduler = new BoundedTestScheduler();
        var watched = new LockWatchingScheduler(scheduler);
        var (left, right) = scheduler.CreateInMemoryPair();
        var client = MuxSession.Client(left.Tap(new TapLog(), watched), new MuxSessionOptions { Scheduler = scheduler });
        var server = MuxSession.Server(right, new MuxSessionOptions { Scheduler = scheduler });
        watched.Sessions.AddRange([client, server]);
        server.Incoming.Subscribe(s => _ = StreamIO.EchoAsync(s));

        var stream = client.Open();
        var echo = StreamIO.ReadToEndAsync(stream);
        Assert.That(stream.WriteAsync(Encoding.ASCII.GetBytes("under the lock?")).AsTask().IsCompleted, Is.True);
        Assert.That(stream.CloseWriteAsync().AsTask().IsCompleted, Is.True);
        Assert.That(Encoding.ASCII.GetString(scheduler.RunUntilCompleted(echo)), Is.EqualTo("under the lock?"));

        Assert.That(watched.Calls, Is.GreaterThan(0), "the tap's drain was woken");
        Assert.That(watched.CallsUnderLock, Is.Zero);
        Close(scheduler, client, server);
    }

    /// <summary>Counts the calls to a scheduler, and those made while a session's lock is held.</summary>
    private sealed class LockWatchingScheduler(IScheduler inner) : IScheduler
    {
        public List<MuxSession> Sessions { get; } = [];
        public int Calls { get; private set; }
        public int CallsUnderLock { get; private set; }
        public DateTimeOffset Now => inner.Now;

        public IDisposable Schedule<TState>(TState state, Func<IScheduler, TState, IDisposable> action) =>
            Watch(() => inner.Schedule(state, action));

        public IDisposable Schedule<TState>(TState state, TimeSpan dueTime, Func<IScheduler, TState, IDisposable> action) =>
            Watch(() => inner.Schedule(state, dueTime, action));

        public IDisposable Schedule<TState>(TState state, DateTimeOffset dueTime, Func<IScheduler, TState, IDisposable> action) =>
            Watch(() => inner.Schedule(state, dueTime, action));

        private IDisposable Watch(Func<IDisposable> schedule)
        {
            Calls++;
            if (Sessions.Any(s => s.Lock.IsHeldByCurrentThread))
            {
                CallsUnderLock++;
            }
            return schedule();
        }
    }

    [Test]
    public async Task Over_loopback_tcp_both_taps_agree_and_complete_when_the_sessions_end()
    {
        var (clientSocket, serverSocket) = await TcpSessionPair.ConnectSocketsAsync();
        var clientTap = new TapLog();
        var serverTap = new TapLog();
        var client = MuxSession.Client(FrameTransport.FromSocket(clientSocket).Tap(clientTap));
        var server = MuxSession.Server(FrameTransport.FromSocket(serverSocket).Tap(serverTap));
        server.Incoming.Subscribe(s => _ = StreamIO.EchoAsync(s));

        var texts = Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 100 + i)).ToArray();
        var replies = await Task.WhenAll(texts.Select(t => EchoOnceAsync(client, t))).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(replies.Select(r => Encoding.ASCII.GetString(r)), Is.EqualTo(texts));

        await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        // The server ends by itself once it has read the client's GOAWAY and EOF; disposing it sooner could stop its
        // reader before the GOAWAY, which its tap would then never see.
        await server.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(clientTap.Completed, serverTap.Completed).WaitAsync(TimeSpan.FromSeconds(30));

        // What one end wrote is what the other read, frame for frame, in order (the client's GOAWAY included). The server
        // may still write after the client stopped reading (its GOAWAY in answer to the close): what the client read is
        // where the server's writes begin, every echo included.
        Assert.That(serverTap.Direction(FrameDirection.Inbound), Is.EqualTo(clientTap.Direction(FrameDirection.Outbound)));
        var clientRead = clientTap.Direction(FrameDirection.Inbound).ToList();
        Assert.That(serverTap.Direction(FrameDirection.Outbound).Take(clientRead.Count), Is.EqualTo(clientRead));
        Assert.That(clientRead.Count(f => f.Type == FrameType.Data && f.Length > 0), Is.EqualTo(texts.Length));
        var sentData = clientTap.Direction(FrameDirection.Outbound).Where(f => f.Type == FrameType.Data && f.Length > 0).ToList();
        Assert.That(sentData.Select(f => Encoding.ASCII.GetString(f.Payload.Span)), Is.EquivalentTo(texts));
        // Per stream, the tap keeps the order of the frames: SYN first, FIN last.
        foreach (var stream in clientTap.Direction(FrameDirection.Outbound).Where(f => f.Type == FrameType.Data).GroupBy(f => f.StreamId))
        {
            Assert.That(stream.First().IsSyn && stream.Last().IsFin, Is.True, $"stream {stream.Key}");
        }
    }

    [Test]
    public void The_tap_is_called_later_on_its_scheduler_never_inside_the_write_and_sees_a_copy()
    {
        var scheduler = new BoundedTestScheduler();
        var (left, right) = scheduler.CreateInMemoryPair();
        var tap = new TapLog();
        var tapped = left.Tap(tap, scheduler);
        var buffer = B("abc");
        scheduler.AdvanceTo(TimeSpan.FromSeconds(5).Ticks);

        tapped.Outbound.OnNext(Frame.Data(1, buffer, FrameFlags.Syn));
        buffer[0] = (byte)'X'; // the writer may reuse its buffer once OnNext returns

        // A session writes to a library transport under its lock: the tap must not run there.
        Assert.That(tap.Frames, Is.Empty);
        scheduler.RunUntilIdle();
        Assert.That(tap.Frames.Select(f => f.ToString()), Is.EqualTo(new[] { "-> DATA[1] SYN len=3" }));
        Assert.That(tap.Frames[0].Frame.Payload.ToArray(), Is.EqualTo(B("abc")));
        Assert.That(tap.Frames[0].At.UtcTicks, Is.EqualTo(TimeSpan.FromSeconds(5).Ticks), "stamped by the tap's scheduler when it passed");
        _ = right;
    }

    [Test]
    public void The_tapped_transport_keeps_the_write_queue_and_the_library_fast_path()
    {
        var scheduler = new BoundedTestScheduler();
        var (left, right) = scheduler.CreateInMemoryPair();
        var tapped = left.Tap(Observer.Create<TappedFrame>(_ => { }), scheduler);
        var received = new List<Frame>();
        right.Inbound.Subscribe(received.Add);

        Assert.That(tapped.IsQueueingWriter, Is.True, "a session must still write to it directly");
        Assert.That(FrameTransport.Create(left.Inbound, left.Outbound).Tap(Observer.Create<TappedFrame>(_ => { }), scheduler).IsQueueingWriter, Is.False);

        var frame = Frame.Data(1, B("hello"), FrameFlags.Syn);
        tapped.Outbound.OnNext(frame);
        Assert.That(tapped.PendingWriteBytes, Is.EqualTo(frame.WireLength).And.EqualTo(left.PendingWriteBytes));
        Assert.That(tapped.BytesEnqueued, Is.EqualTo(frame.WireLength));
        Assert.That(tapped.BytesWritten, Is.Zero);
        var space = tapped.WaitForWriteSpaceAsync(0);
        var written = tapped.WaitForWrittenAsync(frame.WireLength);
        bool watched = false;
        Assert.That(tapped.WatchWriteSpace(0, () => watched = true), Is.True);
        Assert.That(space.IsCompleted || written.IsCompleted || watched, Is.False);

        scheduler.RunUntilIdle();
        Assert.That(received, Is.EqualTo(new[] { frame }));
        Assert.That(tapped.PendingWriteBytes, Is.Zero);
        Assert.That(tapped.BytesWritten, Is.EqualTo(frame.WireLength));
        Assert.That(space.IsCompleted && written.IsCompleted && watched, Is.True);
    }

    [Test]
    public void Over_a_throttled_link_the_session_holds_data_back_exactly_as_without_the_tap()
    {
        // 4 KiB/s and a 4 KiB write queue: the session waits for the link, and the tap must change neither when the
        // write ends nor how full the link's queue got, whether the link is written directly or through the outbox.
        static (long EndedAt, long MaxPending, int Frames) Send(bool tapped, bool queueing)
        {
            var scheduler = new BoundedTestScheduler();
            var (clientLink, serverLink) = ThrottledLink.CreatePair(scheduler, 4096, queueing);
            var options = scheduler.SessionOptions(new MuxSessionOptions { MaxWriteQueueBytes = 4096, WriteTimeout = TimeSpan.FromSeconds(30) });
            var client = MuxSession.Client(tapped ? clientLink.Tap(Observer.Create<TappedFrame>(_ => { }), scheduler) : clientLink, options);
            var server = MuxSession.Server(serverLink, options);
            server.Incoming.Subscribe(s => _ = StreamIO.ReadToEndAsync(s));
            scheduler.Run(async () =>
            {
                var stream = await client.OpenAsync();
                await stream.WriteAsync(new byte[64 * 1024]);
                await stream.CloseWriteAsync();
            });
            return (scheduler.Clock, clientLink.MaxPending, clientLink.Queued.Count);
        }

        foreach (bool queueing in new[] { false, true })
        {
            var plain = Send(tapped: false, queueing);
            Assert.That(plain.EndedAt, Is.GreaterThan(TimeSpan.FromSeconds(10).Ticks), "the link held the writer back");
            Assert.That(Send(tapped: true, queueing), Is.EqualTo(plain), $"queueing: {queueing}");
        }
    }

    [Test]
    public void A_tap_that_throws_is_detached_and_the_session_goes_on()
    {
        var scheduler = new BoundedTestScheduler();
        var (left, right) = scheduler.CreateInMemoryPair();
        int calls = 0;
        var throwing = Observer.Create<TappedFrame>(_ =>
        {
            calls++;
            throw new InvalidOperationException("tap bug");
        });
        var client = MuxSession.Client(left.Tap(throwing, scheduler), scheduler.SessionOptions());
        var server = MuxSession.Server(right, scheduler.SessionOptions());
        server.Incoming.Subscribe(s => _ = StreamIO.EchoAsync(s));

        var first = scheduler.Run(() => EchoOnceAsync(client, "one"));
        var second = scheduler.Run(() => EchoOnceAsync(client, "two"));

        Assert.That(Encoding.ASCII.GetString(first) + Encoding.ASCII.GetString(second), Is.EqualTo("onetwo"));
        Assert.That(calls, Is.EqualTo(1), "Rx forbids calling an observer after it threw");
        Close(scheduler, client, server);
    }

    [Test]
    public void Schedulers_that_run_inline_are_refused()
    {
        var (left, _) = FrameTransport.CreateInMemoryPair();
        var tap = Observer.Create<TappedFrame>(_ => { });
        Assert.That(() => left.Tap(tap, System.Reactive.Concurrency.ImmediateScheduler.Instance), Throws.ArgumentException);
        Assert.That(() => left.Tap(tap, System.Reactive.Concurrency.CurrentThreadScheduler.Instance), Throws.ArgumentException);
    }
}
