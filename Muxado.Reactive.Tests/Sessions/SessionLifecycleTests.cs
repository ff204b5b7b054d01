using System.Reactive.Concurrency;
using System.Reactive;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// How a session ends, in virtual time: the GOAWAY linger, what DisposeAsync waits for, the accept queue under
/// cancellation, GOAWAY crossing an open, idempotent closes.
/// </summary>
public class SessionLifecycleTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(250);
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static readonly Frame WrongParitySyn = Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn);

    // ---------------------------------------------------------------- GOAWAY linger

    [Test]
    public void A_fault_keeps_the_transport_open_exactly_the_linger_while_the_goaway_is_not_written()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1000 }; // the peer reads nothing
        var session = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler });

        transport.Peer.OnNext(WrongParitySyn);

        Assert.That(transport.Written, Is.EqualTo(new[]
        {
            Frame.GoAway(1, ErrorCode.ProtocolError, "initiated stream id has wrong parity for remote endpoint: 0x2"),
        }));
        Assert.That(transport.OutboundCompleted, Is.True, "the writer was told to flush and close");
        Assert.That(session.Completion.IsCompleted, Is.True);
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.ProtocolError));

        scheduler.RunTo(Linger.Ticks - 1);
        Assert.That(transport.DisposedAt, Is.Null, "the GOAWAY gets the whole linger");
        scheduler.RunTo(Linger.Ticks);
        Assert.That(transport.DisposedAt, Is.EqualTo(Linger.Ticks), "and not a tick more");
    }

    [Test]
    public void A_fault_closes_the_transport_as_soon_as_the_goaway_is_written()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1000 };
        _ = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler });
        scheduler.ScheduleAbsolute(TimeSpan.FromMilliseconds(100).Ticks, transport.Drain);

        transport.Peer.OnNext(WrongParitySyn);
        scheduler.RunUntilIdle();

        Assert.That(transport.DisposedAt, Is.EqualTo(TimeSpan.FromMilliseconds(100).Ticks));
        Assert.That(transport.DisposeCount, Is.EqualTo(1));
        Assert.That(scheduler.RunUntilIdle(), Is.Zero, "the linger timer was cancelled");
    }

    [Test]
    public void With_no_linger_a_fault_closes_the_transport_at_once()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1000 };
        _ = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler, GoAwayLinger = TimeSpan.Zero });

        transport.Peer.OnNext(WrongParitySyn);

        Assert.That(transport.DisposedAt, Is.EqualTo(0));
        Assert.That(transport.Written.Single().Type, Is.EqualTo(FrameType.GoAway), "the GOAWAY was still handed to the writer");
    }

    [Test]
    public void DisposeAsync_returns_only_once_the_transport_is_closed()
    {
        using var inline = new InlineContinuations();
        // "Closes the session cleanly: GOAWAY, waits up to the linger for it to be written, then closes the
        // transport." A caller that awaits DisposeAsync and then exits must not lose the GOAWAY or leak the socket.
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 1000 };
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });

        var disposing = session.DisposeAsync().AsTask();

        Assert.That(transport.Written, Is.EqualTo(new[] { Frame.GoAway(0, ErrorCode.NoError, "no error") }));
        Assert.That(transport.DisposedAt, Is.Null);
        Assert.That(disposing.IsCompleted, Is.False, "the transport is still open: DisposeAsync has not finished");
        scheduler.RunTo(Linger.Ticks);
        Assert.That(transport.DisposedAt, Is.EqualTo(Linger.Ticks));
        Assert.That(disposing.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(session.Completion.Result.IsClean, Is.True);
    }

    [Test]
    public void DisposeAsync_twice_writes_one_goaway_and_closes_the_transport_once()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler);
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });

        var first = session.DisposeAsync().AsTask();
        var second = session.DisposeAsync().AsTask();
        scheduler.RunUntilIdle();

        Assert.That(Task.WhenAll(first, second).Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(transport.Written, Has.Count.EqualTo(1));
        Assert.That(transport.DisposeCount, Is.EqualTo(1));
    }

    // ---------------------------------------------------------------- a transport that accepts nothing

    [Test]
    public void Data_waits_while_the_transport_queue_is_full_and_resumes_when_it_drains()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 2 * 1024 * 1024 }; // over MaxWriteQueueBytes
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });
        var stream = session.Open();

        var write = stream.WriteAsync(B("held")).AsTask();
        Assert.That(write.IsCompleted, Is.False);
        Assert.That(transport.Written, Is.EqualTo(new[] { Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn) }),
            "control frames never wait");
        scheduler.ScheduleAbsolute(TimeSpan.FromSeconds(5).Ticks, transport.Drain);
        scheduler.RunTo(TimeSpan.FromSeconds(5).Ticks - 1);
        Assert.That(write.IsCompleted, Is.False, "the write waits until the transport drains");
        // What the drain sets off runs a tick or two later (the test scheduler runs work for "now" at now + 1).
        scheduler.RunTo(TimeSpan.FromSeconds(5).Ticks + 10);

        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(transport.Written[^1], Is.EqualTo(Frame.Data(3, B("held"))));
        scheduler.RunTo(TimeSpan.FromSeconds(60).Ticks);
        Assert.That(session.Completion.IsCompleted, Is.False, "the write timeout was cancelled");
    }

    [Test]
    public void A_transport_that_accepts_nothing_for_the_write_timeout_ends_the_session_with_write_timeout()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 2 * 1024 * 1024 };
        var session = MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });
        var stream = session.Open();
        var write = stream.WriteAsync(B("held")).AsTask();

        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks - 1);
        Assert.That(write.IsCompleted, Is.False);
        // The timeout fires on the tick; the session's end reaches the write a hop (a tick or two) later.
        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks + 10);

        Assert.That(write.IsFaulted, Is.True);
        Assert.That((write.Exception!.InnerException as MuxadoSessionException)?.Code, Is.EqualTo(ErrorCode.WriteTimeout));
        Assert.That(session.Completion.IsCompleted, Is.True);
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.WriteTimeout));
        Assert.That(transport.Written[^1].Type, Is.EqualTo(FrameType.GoAway));
        Assert.That(transport.Written[^1].ErrorCode, Is.EqualTo(ErrorCode.WriteTimeout));
        Assert.That(transport.Written.Any(f => f.Type == FrameType.Data && f.Length > 0), Is.False, "the held DATA never went out");
        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks + Linger.Ticks);
        Assert.That(transport.DisposedAt, Is.EqualTo(TimeSpan.FromSeconds(10).Ticks + Linger.Ticks), "then the usual linger");
    }

    // ---------------------------------------------------------------- a transport that delivers on subscribe

    [Test]
    public void A_recorded_capture_that_plays_during_subscribe_is_read_to_its_end()
    {
        using var inline = new InlineContinuations();
        // FrameTransport.Create accepts any frame source, for example a recorded capture replayed synchronously
        // (ToObservable on the immediate scheduler): every frame, and the end, arrive inside Subscribe.
        var scheduler = new BoundedTestScheduler();
        var capture = new[]
        {
            Frame.Data(1, B("hi"), FrameFlags.Syn),
            Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }.ToObservable(System.Reactive.Concurrency.ImmediateScheduler.Instance);
        var written = new List<Frame>();
        var transport = FrameTransport.Create(capture, Observer.Create<Frame>(written.Add));

        MuxSession? session = null;
        Assert.DoesNotThrow(() => session = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler }));
        scheduler.RunUntilIdle();

        Assert.That(session!.Completion.IsCompleted, Is.True);
        Assert.That(session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.PeerEOF), "the capture ended: EOF");
        var accept = session.AcceptAsync();
        Assert.That(accept.IsCompletedSuccessfully, Is.True, "the stream that arrived before the end is still handed out");
        var data = new List<byte>();
        bool completed = false;
        accept.Result.Received.Subscribe(c => data.AddRange(c.ToArray()), () => completed = true);
        scheduler.RunUntilIdle();
        Assert.That(data, Is.EqualTo(B("hi")));
        Assert.That(completed, Is.True);
        Assert.That(written, Is.EqualTo(new[] { Frame.GoAway(1, ErrorCode.PeerEOF, "read EOF from remote peer") }));
    }

    [Test]
    public void A_hostile_frame_delivered_during_subscribe_ends_the_session_with_its_goaway()
    {
        using var inline = new InlineContinuations();
        var scheduler = new BoundedTestScheduler();
        var written = new List<Frame>();
        var transport = FrameTransport.Create(
            Observable.Return(WrongParitySyn).Concat(Observable.Never<Frame>()),
            Observer.Create<Frame>(written.Add));

        MuxSession? session = null;
        Assert.DoesNotThrow(() => session = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler }));
        scheduler.RunUntilIdle();

        Assert.That(session!.Completion.Result.LocalError, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(written.Single().ErrorCode, Is.EqualTo(ErrorCode.ProtocolError));
    }

    // ---------------------------------------------------------------- accept queue and cancellation

    [Test]
    public void A_stream_handed_to_an_accept_cancelled_at_that_moment_goes_to_the_next_waiting_accept()
    {
        using var inline = new InlineContinuations();
        using var pair = new SyncPair();
        using var cts = new CancellationTokenSource();
        var cancelled = pair.Server.AcceptAsync(cts.Token);
        var waiting = pair.Server.AcceptAsync();

        var stream = pair.Client.Open();
        // Queued after the SYN's delivery and before the completion the session schedules for the first waiter:
        // the cancellation lands exactly between "stream given to waiter 1" and "waiter 1 completed".
        pair.Scheduler.ScheduleRelative(0, cts.Cancel);
        pair.RunUntilIdle();

        Assert.That(cancelled.IsCanceled, Is.True);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True, "the stream must not sit in the backlog while an accept waits");
        Assert.That(waiting.Result.Id, Is.EqualTo(stream.Id));
    }

    [Test]
    public void A_cancelled_accept_does_not_swallow_the_next_stream()
    {
        using var inline = new InlineContinuations();
        using var pair = new SyncPair();
        for (int i = 0; i < 3; i++)
        {
            using var cts = new CancellationTokenSource();
            var accept = pair.Server.AcceptAsync(cts.Token);
            pair.RunUntilIdle();
            cts.Cancel();
            Assert.That(accept.IsCanceled, Is.True);
        }

        var stream = pair.Client.Open();
        pair.RunUntilIdle();
        var next = pair.Server.AcceptAsync();
        pair.RunUntilIdle();
        Assert.That(next.IsCompletedSuccessfully, Is.True);
        Assert.That(next.Result.Id, Is.EqualTo(stream.Id));
    }

    [Test]
    public void Accepts_cancelled_while_no_stream_comes_leave_nothing_behind()
    {
        using var inline = new InlineContinuations();
        // A server that polls AcceptAsync with a timeout on an idle session must not grow without bound
        // (DESIGN.md, "Bounded everything").
        using var pair = new SyncPair();
        for (int i = 0; i < 1000; i++)
        {
            using var cts = new CancellationTokenSource();
            var accept = pair.Server.AcceptAsync(cts.Token);
            cts.Cancel();
            Assert.That(accept.IsCanceled, Is.True);
        }
        var accepted = (Muxado.Reactive.Concurrency.HandOffQueue<MuxStream>)typeof(MuxSession)
            .GetField("_accepted", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(pair.Server)!;
        using (pair.Server.Lock.Enter())
        {
            Assert.That(accepted.WaiterCountLocked, Is.Zero);
        }
    }

    // ---------------------------------------------------------------- GOAWAY while the session goes on

    [Test]
    public async Task Goaway_on_a_session_that_stays_open_is_followed_by_gos_padding_and_the_peer_stays_in_sync()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        pair.RunUntilIdle();
        var serverSide = await pair.Server.AcceptAsync();

        pair.Run(pair.Server.GoAwayAsync(ErrorCode.NoError, "draining"));
        await serverSide.WriteAsync(B("after goaway"));
        await serverSide.CloseWriteAsync();
        var received = new List<byte>();
        bool completed = false;
        stream.Received.Subscribe(c => received.AddRange(c.ToArray()), () => completed = true);
        pair.RunUntilIdle();

        Assert.That(pair.ServerFrames.Frames.Take(2), Is.EqualTo(new[]
        {
            Frame.GoAway(3, ErrorCode.NoError, "draining"),
            Frame.Unknown(0xF, FrameFlags.None, 0, ReadOnlyMemory<byte>.Empty),
        }));
        Assert.That(Encoding.ASCII.GetString(received.ToArray()), Is.EqualTo("after goaway"));
        Assert.That(completed, Is.True);
        Assert.That(pair.Client.Completion.IsCompleted, Is.False);
    }

    [Test]
    public async Task A_stream_opened_across_the_peers_goaway_ends_with_remote_gone_away_and_is_refused()
    {
        await using var pair = new VirtualSessionPair();
        // GoAwayAsync completes once the GOAWAY is written, which takes the scheduler: open before running it.
        var goAway = pair.Server.GoAwayAsync(ErrorCode.NoError, "draining");
        var crossing = pair.Client.Open(); // the GOAWAY has not arrived yet
        var reader = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        crossing.Received.Subscribe(reader);
        pair.RunUntilIdle();
        // Its completion may come through a pool thread (the transport's write-space wait): run until it is done.
        Assert.DoesNotThrow(() => pair.Run(goAway), "the GOAWAY was written");

        var error = reader.Messages.Single().Value.Exception as MuxadoStreamException;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.RemoteGoneAway));
        Assert.That(pair.ServerFrames.Frames, Does.Contain(Frame.Rst(crossing.Id, ErrorCode.StreamRefused)));
        var accept = pair.Server.AcceptAsync();
        pair.RunUntilIdle();
        Assert.That(accept.IsCompleted, Is.False, "a refused stream is never accepted");
        await pair.DisposeAsync();
        var ended = await Assert.CatchAsync<MuxadoSessionException>(async () => await accept, "the pending accept ends with the session");
        Assert.That(ended!.Code, Is.EqualTo(ErrorCode.SessionClosed));
    }

    // ---------------------------------------------------------------- idempotent stream closes

    [Test]
    public async Task Closing_a_stream_many_times_sends_one_fin()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        await stream.CloseWriteAsync();
        await stream.CloseWriteAsync();
        stream.CloseWrite();
        await stream.DisposeAsync();
        await stream.DisposeAsync();
        pair.RunUntilIdle();

        Assert.That(pair.ClientFrames.Frames.Where(f => f.StreamId == stream.Id), Is.EqualTo(new[]
        {
            Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A <see cref="VirtualSessionPair"/> for synchronous tests (no NUnit synchronisation context to step around).</summary>
    private sealed class SyncPair : IDisposable
    {
        private readonly VirtualSessionPair _pair = new();
        public BoundedTestScheduler Scheduler => _pair.Scheduler;
        public MuxSession Client => _pair.Client;
        public MuxSession Server => _pair.Server;
        public void RunUntilIdle() => _pair.RunUntilIdle();
        public void Dispose() => _pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }
}
