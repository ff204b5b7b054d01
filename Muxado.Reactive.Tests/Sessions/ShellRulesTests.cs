using System.Collections.Concurrent;
using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Rules of the reactive shell (issues 9 and 10): a half-close fails the writes that wait, a user's transport is never
/// called under the session lock and gets frames it may read for the whole of its <c>OnNext</c>, <c>SendTo</c> loses no
/// exception, typed streams (one-frame type, a type deadline, one kind of taker), <see cref="MuxSession.StreamEvents"/>,
/// and the schedulers <see cref="MuxSessionOptions.Validate"/> refuses.
/// </summary>
public class ShellRulesTests
{
    private const int Window = 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static void Close(VirtualSessionPair pair) => Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);

    private static Exception? Failure(Task task) => task.IsFaulted ? task.Exception!.InnerException : null;

    // ---------------------------------------------------------------- CloseWrite against waiting writes

    [Test]
    public void A_synchronous_CloseWrite_fails_a_write_that_waits_for_window_with_stream_closed()
    {
        using var inline = new InlineContinuations();
        var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = Window });
        var stream = pair.Client.Open();
        var waiting = stream.WriteAsync(new byte[3 * Window]).AsTask();
        var queuedBehind = stream.WriteAsync(new byte[10]).AsTask(); // waits for its turn behind the first
        pair.RunUntilIdle();
        Assert.That(waiting.IsCompleted || queuedBehind.IsCompleted, Is.False, "the first write waits for window, the second for its turn");

        stream.CloseWrite();
        pair.RunUntilIdle();

        Assert.That(Failure(waiting), Is.InstanceOf<MuxadoException>(), () => $"the waiting write failed ({waiting.Status})");
        Assert.That(((MuxadoException)Failure(waiting)!).Code, Is.EqualTo(ErrorCode.StreamClosed));
        // Every write still pending when CloseWrite runs (waiting for window, or queued behind one that waits) was issued
        // before it and fails the same way: StreamClosed. Only a write issued after the half-close is refused outright.
        Assert.That(Failure(queuedBehind), Is.InstanceOf<MuxadoException>(), "the write behind it fails with the one in front");
        Assert.That(((MuxadoException)Failure(queuedBehind)!).Code, Is.EqualTo(ErrorCode.StreamClosed));
        Assert.That(Failure(stream.WriteAsync(new byte[1]).AsTask()), Is.InstanceOf<InvalidOperationException>(), "a write after the half-close is refused");
        var frames = pair.ClientFrames.Frames.Where(f => f.StreamId == stream.Id).ToList();
        Assert.That(frames.Where(f => f.Type == FrameType.Data).Sum(f => f.Length), Is.EqualTo(Window), "what was sent stays sent");
        Assert.That(frames[^1], Is.EqualTo(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)), "and the FIN follows it");
        Close(pair);
    }

    [Test]
    public void A_synchronous_CloseWrite_fails_a_write_that_waits_for_queue_room_with_stream_closed()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1024 * 1024 }; // above MaxWriteQueueBytes
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });
        var stream = session.Open();
        var waiting = stream.WriteAsync(new byte[100]).AsTask();
        scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(waiting.IsCompleted, Is.False, "the write waits for room in the transport's queue");

        stream.CloseWrite();
        scheduler.RunTo(TimeSpan.FromSeconds(2).Ticks);

        Assert.That((Failure(waiting) as MuxadoException)?.Code, Is.EqualTo(ErrorCode.StreamClosed), () => $"the waiting write failed ({waiting.Status})");
        Assert.That(transport.Written[^1], Is.EqualTo(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)));
        Assert.That(transport.Written.Where(f => f.Type == FrameType.Data).Sum(f => f.Length), Is.Zero, "none of its bytes went out");
    }

    [Test]
    public void A_synchronous_CloseWrite_completes_a_CloseWriteAsync_queued_behind_a_write_that_waits_for_window()
    {
        // CloseWrite fails the waiting writes and sends FIN, but left the half-close queued behind them in the queue,
        // where nothing served it any more: its caller waited until the peer's window opened, if it ever did.
        using var inline = new InlineContinuations();
        var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = Window });
        var stream = pair.Client.Open();
        var waiting = stream.WriteAsync(new byte[3 * Window]).AsTask();
        var halfClose = stream.CloseWriteAsync().AsTask();
        pair.RunUntilIdle();
        Assert.That(waiting.IsCompleted || halfClose.IsCompleted, Is.False, "the write waits for window, the half-close behind it");

        stream.CloseWrite();
        pair.RunUntilIdle();

        Assert.That((Failure(waiting) as MuxadoException)?.Code, Is.EqualTo(ErrorCode.StreamClosed), "the waiting write failed");
        Assert.That(halfClose.IsCompletedSuccessfully, Is.True, () => $"the queued half-close is done: the stream is half-closed ({halfClose.Status})");
        Close(pair);
    }

    [Test]
    public void A_synchronous_CloseWrite_completes_a_DisposeAsync_queued_behind_a_write_that_waits_for_queue_room()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1024 * 1024 }; // above MaxWriteQueueBytes
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });
        var stream = session.Open();
        var waiting = stream.WriteAsync(new byte[100]).AsTask();
        var closing = stream.DisposeAsync().AsTask();
        scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(waiting.IsCompleted || closing.IsCompleted, Is.False, "the write waits for room, the close behind it");

        stream.CloseWrite();
        scheduler.RunTo(TimeSpan.FromSeconds(2).Ticks);

        Assert.That((Failure(waiting) as MuxadoException)?.Code, Is.EqualTo(ErrorCode.StreamClosed), "the waiting write failed");
        Assert.That(closing.IsCompletedSuccessfully, Is.True, () => $"the queued close is done without waiting for room ({closing.Status})");
    }

    // ---------------------------------------------------------------- a user's transport

    [Test]
    public void A_user_transport_is_never_called_under_the_session_lock_and_each_payload_stays_valid_through_its_OnNext()
    {
        // Interleaving: thread X opens a stream and is held inside the transport's OnNext for its SYN. Meanwhile the test
        // thread writes, and its WriteAsync returns with the frame still queued behind X; the caller then reuses its buffer
        // at once. When X flushes the DATA frame, the test holds X inside that OnNext too and overwrites the buffer again.
        // The transport must see the bytes as written, unchanged from the start of OnNext to its end.
        var scheduler = new BoundedTestScheduler();
        MuxSession? session = null;
        var violations = new ConcurrentQueue<string>();
        var payloads = new ConcurrentQueue<(Frame Frame, byte[] AtEntry, byte[] AtExit)>();
        using var synEntered = new ManualResetEventSlim();
        using var synRelease = new ManualResetEventSlim();
        using var dataEntered = new ManualResetEventSlim();
        using var dataRelease = new ManualResetEventSlim();
        int holdSyn = 1, holdData = 1;

        void CheckLock(string call)
        {
            if (session is null)
            {
                violations.Enqueue($"{call} before the session existed");
            }
            else if (session.Lock.IsHeldByCurrentThread)
            {
                violations.Enqueue($"{call} under the session lock");
            }
        }

        var outbound = Observer.Create<Frame>(
            frame =>
            {
                CheckLock($"OnNext({frame})");
                var atEntry = frame.Payload.ToArray();
                if (frame.IsSyn && frame.Length == 0 && Interlocked.Exchange(ref holdSyn, 0) == 1)
                {
                    synEntered.Set();
                    synRelease.Wait(Bound);
                }
                if (frame.Type == FrameType.Data && frame.Length > 0 && Interlocked.Exchange(ref holdData, 0) == 1)
                {
                    dataEntered.Set();
                    dataRelease.Wait(Bound);
                }
                payloads.Enqueue((frame, atEntry, frame.Payload.ToArray()));
            },
            _ => CheckLock("OnError"),
            () => CheckLock("OnCompleted"));
        var peer = new Subject<Frame>();
        var transport = FrameTransport.Create(peer, outbound, Disposable.Create(() => CheckLock("connection.Dispose")));
        session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });

        var opener = Task.Run(() => session.Open());
        Assert.That(synEntered.Wait(Bound), Is.True, "thread X is inside OnNext for its SYN");
        var stream = session.Open(); // its SYN queues behind X
        var buffer = Enumerable.Repeat((byte)'A', 1000).ToArray();
        var write = stream.WriteAsync(buffer).AsTask();
        Assert.That(write.IsCompletedSuccessfully, Is.True, "the write returned while its frame waits behind X");
        Array.Fill(buffer, (byte)'B'); // the caller reuses its buffer at once
        synRelease.Set();
        Assert.That(dataEntered.Wait(Bound), Is.True, "X flushes the DATA frame");
        Array.Fill(buffer, (byte)'C'); // and again while the transport reads it
        dataRelease.Set();
        Assert.That(opener.Wait(Bound), Is.True);

        var closing = session.DisposeAsync().AsTask();
        scheduler.RunUntilIdle();
        Assert.That(closing.Wait(Bound), Is.True);

        Assert.That(violations, Is.Empty);
        var data = payloads.Where(p => p.Frame.Type == FrameType.Data && p.Frame.StreamId == stream.Id && p.Frame.Length > 0).ToList();
        Assert.That(data, Has.Count.EqualTo(1));
        Assert.That(data[0].AtEntry, Is.EqualTo(Enumerable.Repeat((byte)'A', 1000).ToArray()), "the transport got the bytes as they were when WriteAsync was called");
        Assert.That(data[0].AtExit, Is.EqualTo(data[0].AtEntry), "and they did not change while its OnNext ran");
        Assert.That(payloads.Select(p => p.Frame.Type), Does.Contain(FrameType.GoAway), "the close went through the same path");
    }

    // ---------------------------------------------------------------- SendTo's result observer

    [TestCase(false, TestName = "A_SendTo_result_observer_that_throws_resets_the_stream_with_internal_error(window open)")]
    [TestCase(true, TestName = "A_SendTo_result_observer_that_throws_resets_the_stream_with_internal_error(after a wait for window)")]
    public void A_SendTo_result_observer_that_throws_resets_the_stream_with_internal_error(bool waitForWindow)
    {
        // Issue 10: "a result observer that throws ends in a faulted task nobody observes". The throw is the observer's,
        // as any throwing observer of a stream it costs the stream a reset with InternalError, and nothing goes unobserved.
        using var inline = new InlineContinuations();
        var unobserved = new ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e) => unobserved.Enqueue(e.Exception);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = Window });
            var stream = pair.Client.Open();
            pair.RunUntilIdle();
            var serverSide = pair.Server.AcceptAsync().Result;
            Exception? peerError = null;
            if (!waitForWindow)
            {
                serverSide.Received.Subscribe(_ => { }, e => peerError = e);
            }
            var source = new Subject<ReadOnlyMemory<byte>>();
            int calls = 0;
            using var subscription = source.SendTo(stream).Subscribe(
                _ =>
                {
                    calls++;
                    throw new InvalidOperationException("the result observer failed");
                },
                _ => Assert.Fail("an observer that threw hears nothing more"));

            source.OnNext(new byte[waitForWindow ? 2 * Window : 10]);
            pair.RunUntilIdle();
            if (waitForWindow)
            {
                Assert.That(calls, Is.Zero, "the chunk waits for window");
                serverSide.Received.Subscribe(_ => { }, e => peerError = e); // the reader consumes; credit opens the window
                pair.RunUntilIdle();
            }

            Assert.That(calls, Is.EqualTo(1));
            Assert.That(pair.ClientFrames.Frames.Where(f => f.Type == FrameType.Rst),
                Is.EqualTo(new[] { Frame.Rst(stream.Id, ErrorCode.InternalError) }), "one reset, with InternalError");
            Assert.That((peerError as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.InternalError), "the peer's reader hears it");
            source.OnNext(new byte[10]); // a source that goes on is ignored, not an error
            pair.RunUntilIdle();
            Close(pair);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.That(unobserved, Is.Empty, "no task's exception went unobserved");
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    // ---------------------------------------------------------------- typed streams

    [TestCase(true)]
    [TestCase(false)]
    public async Task OpenTypedAsync_sends_the_four_type_bytes_in_one_DATA_frame(bool openWithEmptySyn)
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { OpenWithEmptySyn = openWithEmptySyn });
        var accepted = pair.Server.AcceptTypedAsync();
        var stream = await pair.Client.OpenTypedAsync(0x01020304);
        await stream.WriteAsync(new byte[] { 9, 9 });
        pair.RunUntilIdle();

        var frames = pair.ClientFrames.Frames.Where(f => f.StreamId == stream.Id).ToList();
        var expected = new List<Frame>();
        if (openWithEmptySyn)
        {
            expected.Add(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        }
        expected.Add(Frame.Data(stream.Id, new byte[] { 1, 2, 3, 4 }, openWithEmptySyn ? FrameFlags.None : FrameFlags.Syn));
        expected.Add(Frame.Data(stream.Id, new byte[] { 9, 9 }));
        Assert.That(frames, Is.EqualTo(expected), "the type is one frame of its own, as Go's acceptor reads it in one Read");
        Assert.That(accepted.IsCompletedSuccessfully, Is.True);
        Assert.That((accepted.Result.Type, accepted.Result.Stream.Id), Is.EqualTo((0x01020304u, stream.Id)));
    }

    [Test]
    public async Task The_type_is_never_split_even_when_MaxFramePayload_is_below_four_bytes()
    {
        // MaxFramePayload accepts 1..16 MiB-1. Below 4 the core cuts every write into frames of that size, the type
        // prefix included; Go's acceptor reads the type with one Read and would misread it. Either Validate refuses such
        // a payload size, or the type still goes out whole.
        var options = new MuxSessionOptions { MaxFramePayload = 2 };
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException)
        {
            Assert.Pass("MaxFramePayload below 4 is refused");
        }
        await using var pair = new VirtualSessionPair(options);
        var stream = await pair.Client.OpenTypedAsync(0x01020304);
        pair.RunUntilIdle();
        var data = pair.ClientFrames.Frames.Where(f => f.StreamId == stream.Id && f.Length > 0).ToList();
        Assert.That(data.Select(f => f.Length), Is.EqualTo(new[] { 4 }), "the four type bytes in one frame");
    }

    [Test]
    public void OpenTypedAsync_completes_or_is_refused_when_MaxWriteQueueBytes_is_below_four_bytes()
    {
        // The type needs 4 bytes of queue room at once; with a bound below 4, room is granted, found too small, given back
        // and granted again for ever.
        using var inline = new InlineContinuations();
        var options = new MuxSessionOptions { MaxWriteQueueBytes = 2 };
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException)
        {
            Assert.Pass("MaxWriteQueueBytes below 4 is refused");
        }
        var pair = new VirtualSessionPair(options);
        var open = pair.Client.OpenTypedAsync(7).AsTask();
        Assert.That(() => pair.RunUntilIdle(maxSteps: 10_000), Throws.Nothing, "the scheduler goes idle (no grant loop)");
        Assert.That(open.IsCompletedSuccessfully, Is.True, () => $"the typed open completed ({open.Status})");
        Close(pair);
    }

    [Test]
    public void OpenTypedAsync_waits_without_spinning_while_the_queue_has_room_for_less_than_the_type()
    {
        // The same grant loop with the default bound: the transport's queue leaves 2 bytes of room. The typed
        // open must wait quietly until there is room for its 4 bytes, then go out when the transport drains.
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var options = new MuxSessionOptions { Scheduler = scheduler };
        var transport = new ManualTransport(scheduler) { Pending = options.MaxWriteQueueBytes - 2 };
        var session = MuxSession.Client(transport, options);

        var open = session.OpenTypedAsync(7).AsTask();
        Assert.That(() => scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks, maxSteps: 10_000), Throws.Nothing,
            "a waiting typed open schedules no work while nothing changes");
        Assert.That(open.IsCompleted, Is.False, "2 bytes of room: the type waits");

        transport.Drain();
        scheduler.RunTo(TimeSpan.FromSeconds(2).Ticks, maxSteps: 10_000);
        Assert.That(open.IsCompletedSuccessfully, Is.True, () => $"room came: the typed open completed ({open.Status})");
        Assert.That(transport.Written[^1], Is.EqualTo(Frame.Data(open.Result.Id, new byte[] { 0, 0, 0, 7 })));
    }

    [Test]
    public async Task A_stream_that_never_sends_its_type_holds_up_no_typed_accept_nor_heartbeat_and_is_reset_at_the_deadline()
    {
        var typeDeadline = TimeSpan.FromSeconds(5);
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { TypeReadTimeout = typeDeadline });
        // Only what is due in the next few ticks runs (the test scheduler runs work for "now" at now + 1): running
        // until idle would fire the type deadline at once.
        void RunNow() => pair.RunFor(TimeSpan.FromTicks(5));
        var silent = pair.Client.Open(); // its SYN goes out; its type never does
        Exception? silentError = null;
        silent.Received.Subscribe(_ => { }, e => silentError = e);
        var first = pair.Server.AcceptTypedAsync();
        RunNow();
        Assert.That(first.IsCompleted, Is.False, "the silent stream is not a typed stream yet");

        var later = await pair.Client.OpenTypedAsync(42);
        RunNow();
        Assert.That(first.IsCompletedSuccessfully, Is.True, "a later typed stream is accepted while the silent one waits for its type");
        Assert.That((first.Result.Type, first.Result.Stream.Id), Is.EqualTo((42u, later.Id)));
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var beats = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(beats);

        // The deadline counts from the stream's arrival, a tick or two after zero: run to just before 5 s.
        pair.Scheduler.RunTo(typeDeadline.Ticks - 1);
        Assert.That(beats.Messages.Select(m => m.Value.Value.IsTimeout), Is.EqualTo(new[] { false, false, false, false }),
            "the heartbeat is answered every second meanwhile");
        Assert.That(pair.ServerFrames.Frames.Where(f => f.Type == FrameType.Rst), Is.Empty, "the silent stream has until the deadline");

        pair.Scheduler.RunTo(typeDeadline.Ticks + 10);
        var reset = pair.ServerFrames.Messages.Where(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext && m.Value.Value.Type == FrameType.Rst).ToList();
        Assert.That(reset.Select(m => m.Value.Value), Is.EqualTo(new[] { Frame.Rst(silent.Id, ErrorCode.StreamCancelled) }));
        // The deadline counts from the stream's arrival, a few ticks after zero on Microsoft.Reactive.Testing's scheduler.
        Assert.That(reset[0].Time, Is.InRange(typeDeadline.Ticks, typeDeadline.Ticks + 10), "reset at the deadline, in virtual time");
        RunNow();
        Assert.That((silentError as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.StreamCancelled), "the opener hears why");
        await heartbeat.DisposeAsync();
    }

    [Test]
    public void IncomingTyped_and_AcceptTypedAsync_exclude_each_other()
    {
        using var inline = new InlineContinuations();
        var pair = new VirtualSessionPair();
        var typed = new List<TypedStream>();
        pair.Server.IncomingTyped.Subscribe(typed.Add);
        var accept = pair.Server.AcceptTypedAsync();
        pair.RunUntilIdle();
        Assert.That(Failure(accept), Is.InstanceOf<InvalidOperationException>(), "an AcceptTypedAsync beside an IncomingTyped subscriber");
        var opened = pair.Client.OpenTypedAsync(5).AsTask();
        pair.RunUntilIdle();
        Assert.That(typed.Select(t => (t.Type, t.Stream.Id)), Is.EqualTo(new[] { (5u, opened.Result.Id) }), "the subscriber still gets every typed stream");
        Close(pair);

        var other = new VirtualSessionPair();
        var pending = other.Server.AcceptTypedAsync();
        Exception? refused = null;
        other.Server.IncomingTyped.Subscribe(_ => Assert.Fail("a second kind of taker got a stream"), e => refused = e);
        other.RunUntilIdle();
        Assert.That(refused, Is.InstanceOf<InvalidOperationException>(), "an IncomingTyped subscriber beside a pending AcceptTypedAsync");
        var next = other.Client.OpenTypedAsync(6).AsTask();
        other.RunUntilIdle();
        Assert.That(pending.IsCompletedSuccessfully && pending.Result.Stream.Id == next.Result.Id, Is.True, "the pending accept gets the stream");
        Close(other);
    }

    // ---------------------------------------------------------------- StreamEvents

    [Test]
    public void StreamEvents_reports_each_streams_life_on_both_sides_and_takes_nothing_from_Incoming()
    {
        using var inline = new InlineContinuations();
        var pair = new VirtualSessionPair();
        var serverEvents = pair.Scheduler.CreateObserver<StreamEvent>();
        var clientEvents = pair.Scheduler.CreateObserver<StreamEvent>();
        pair.Server.StreamEvents.Subscribe(serverEvents);
        pair.Client.StreamEvents.Subscribe(clientEvents);
        var incoming = new List<MuxStream>();
        pair.Server.Incoming.Subscribe(incoming.Add);

        var finished = pair.Client.Open();   // both sides finish: Closed
        var resetByClient = pair.Client.Open();
        var resetByServer = pair.Client.Open();
        var serverOpened = pair.Server.Open(); // the client never takes it
        pair.RunUntilIdle();
        Assert.That(incoming.Select(s => s.Id), Is.EqualTo(new[] { finished.Id, resetByClient.Id, resetByServer.Id }),
            "watching took no stream away from Incoming");

        _ = finished.CloseWriteAsync().AsTask();
        pair.RunUntilIdle();
        _ = incoming[0].CloseWriteAsync().AsTask();
        resetByClient.Reset(ErrorCode.StreamRefused);
        incoming[2].Reset(ErrorCode.FlowControlError);
        serverOpened.Reset(ErrorCode.InternalError);
        pair.RunUntilIdle();

        var server = Events(serverEvents);
        Assert.That(server[finished.Id], Is.EqualTo(new[]
        {
            new StreamEvent(StreamEventKind.Opened, finished.Id, Local: false),
            new StreamEvent(StreamEventKind.Accepted, finished.Id, Local: false),
            new StreamEvent(StreamEventKind.HalfClosed, finished.Id, Local: false, ByPeer: true),
            new StreamEvent(StreamEventKind.HalfClosed, finished.Id, Local: false),
            new StreamEvent(StreamEventKind.Closed, finished.Id, Local: false),
        }));
        Assert.That(server[resetByClient.Id], Is.EqualTo(new[]
        {
            new StreamEvent(StreamEventKind.Opened, resetByClient.Id, Local: false),
            new StreamEvent(StreamEventKind.Accepted, resetByClient.Id, Local: false),
            new StreamEvent(StreamEventKind.Reset, resetByClient.Id, Local: false, ErrorCode.StreamRefused, ByPeer: true),
        }));
        Assert.That(server[resetByServer.Id][^1], Is.EqualTo(new StreamEvent(StreamEventKind.Reset, resetByServer.Id, Local: false, ErrorCode.FlowControlError, ByPeer: false)));
        Assert.That(server[serverOpened.Id], Is.EqualTo(new[]
        {
            new StreamEvent(StreamEventKind.Opened, serverOpened.Id, Local: true),
            new StreamEvent(StreamEventKind.Reset, serverOpened.Id, Local: true, ErrorCode.InternalError, ByPeer: false),
        }));

        var client = Events(clientEvents);
        Assert.That(client[finished.Id], Is.EqualTo(new[]
        {
            new StreamEvent(StreamEventKind.Opened, finished.Id, Local: true),
            new StreamEvent(StreamEventKind.HalfClosed, finished.Id, Local: true),
            new StreamEvent(StreamEventKind.HalfClosed, finished.Id, Local: true, ByPeer: true),
            new StreamEvent(StreamEventKind.Closed, finished.Id, Local: true),
        }));
        Assert.That(client[resetByClient.Id][^1], Is.EqualTo(new StreamEvent(StreamEventKind.Reset, resetByClient.Id, Local: true, ErrorCode.StreamRefused, ByPeer: false)));
        Assert.That(client[resetByServer.Id][^1], Is.EqualTo(new StreamEvent(StreamEventKind.Reset, resetByServer.Id, Local: true, ErrorCode.FlowControlError, ByPeer: true)));
        Assert.That(client[serverOpened.Id], Is.EqualTo(new[]
        {
            new StreamEvent(StreamEventKind.Opened, serverOpened.Id, Local: false),
            new StreamEvent(StreamEventKind.Reset, serverOpened.Id, Local: false, ErrorCode.InternalError, ByPeer: true),
        }), "a stream nobody accepted is never Accepted");

        Assert.That(serverEvents.Messages.Any(m => m.Value.Kind != NotificationKind.OnNext), Is.False, "not complete while the session lives");
        Close(pair);
        pair.RunUntilIdle();
        Assert.That(serverEvents.Messages[^1].Value.Kind, Is.EqualTo(NotificationKind.OnCompleted), "complete when the session ended");
        Assert.That(clientEvents.Messages[^1].Value.Kind, Is.EqualTo(NotificationKind.OnCompleted));
        Assert.That(serverEvents.Messages.Count(m => m.Value.Kind != NotificationKind.OnNext), Is.EqualTo(1));
    }

    private static Dictionary<uint, List<StreamEvent>> Events(ITestableObserver<StreamEvent> observer) =>
        observer.Messages.Where(m => m.Value.Kind == NotificationKind.OnNext)
            .GroupBy(m => m.Value.Value.StreamId)
            .ToDictionary(g => g.Key, g => g.Select(m => m.Value.Value).ToList());

    // ---------------------------------------------------------------- schedulers Validate refuses

    [Test]
    public void Validate_refuses_the_inline_schedulers_and_says_why()
    {
        foreach (IScheduler scheduler in new IScheduler[] { ImmediateScheduler.Instance, CurrentThreadScheduler.Instance })
        {
            var options = new MuxSessionOptions { Scheduler = scheduler };
            var error = Assert.Throws<ArgumentException>(() => options.Validate());
            Assert.That(error!.ParamName, Is.EqualTo(nameof(MuxSessionOptions.Scheduler)));
            Assert.That(error.Message, Does.Contain(scheduler.GetType().Name), "it names the scheduler");
            Assert.That(error.Message, Does.Contain("inline"), "it says what is wrong with it");
            Assert.That(error.Message, Does.Contain("EventLoopScheduler"), "and what to use instead");
            Assert.That(() => MuxSession.Client(new ManualTransport(new BoundedTestScheduler()), options), Throws.ArgumentException, "a session refuses it too");
        }
        using var loop = new EventLoopScheduler();
        Assert.That(() => new MuxSessionOptions { Scheduler = loop }.Validate(), Throws.Nothing);
        Assert.That(() => new MuxSessionOptions { Scheduler = new BoundedTestScheduler() }.Validate(), Throws.Nothing);
    }
}
