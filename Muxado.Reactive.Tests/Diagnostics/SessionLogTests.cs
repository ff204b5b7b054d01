using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Tests.Sessions;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary>
/// The session's log events (issue 12): each with its stable id, its level and its structured values, written through
/// <see cref="MuxSessionOptions.LoggerFactory"/>, never under the session lock. In virtual time.
/// </summary>
public class SessionLogTests
{
    private const int Window = 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static string? Value(FakeLogRecord record, string key) => record.GetStructuredStateValue(key);

    private static FakeLogRecord Single(TestTelemetry telemetry, int id, string category = "Muxado.Reactive.MuxSession")
    {
        var records = telemetry.Events(id);
        Assert.That(records, Has.Count.EqualTo(1), () => $"one event {id}; the log was:\n" + string.Join("\n", telemetry.Logs.GetSnapshot()));
        Assert.That(records[0].Category, Is.EqualTo(category));
        return records[0];
    }

    [Test]
    public void A_clean_close_logs_start_goaway_and_a_clean_end_on_both_sides()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        var pair = new VirtualSessionPair(client.Options(), server.Options());
        pair.RunUntilIdle();
        var started = Single(client, 1);
        Assert.That((started.Level, started.Id.Name, Value(started, "Role")), Is.EqualTo((LogLevel.Debug, "SessionStarted", "Client")));
        Assert.That(Value(Single(server, 1), "Role"), Is.EqualTo("Server"));

        pair.Run(pair.Client.DisposeAsync().AsTask());
        pair.RunUntilIdle();

        var sent = Single(client, 3);
        Assert.That((sent.Level, sent.Id.Name), Is.EqualTo((LogLevel.Debug, "GoAwaySent")));
        Assert.That((Value(sent, "Code"), Value(sent, "LastStreamId"), Value(sent, "Debug")), Is.EqualTo(("NoError", "0", "no error")));
        var received = Single(server, 4);
        Assert.That((received.Level, received.Id.Name), Is.EqualTo((LogLevel.Information, "GoAwayReceived")));
        Assert.That((Value(received, "Code"), Value(received, "Debug")), Is.EqualTo(("NoError", "no error")));

        var ended = Single(client, 2);
        Assert.That((ended.Level, ended.Id.Name), Is.EqualTo((LogLevel.Information, "SessionEnded")));
        Assert.That((Value(ended, "LocalCode"), Value(ended, "Clean")), Is.EqualTo(("NoError", "True")));
        var serverEnded = Single(server, 2);
        Assert.That((serverEnded.Level, Value(serverEnded, "LocalCode"), Value(serverEnded, "RemoteCode"), Value(serverEnded, "RemoteDebug"), Value(serverEnded, "Clean")),
            Is.EqualTo((LogLevel.Information, "PeerEOF", "NoError", "no error", "True")));
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void A_goaway_is_logged_with_its_code_last_stream_id_and_debug_text_on_both_sides()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        var pair = new VirtualSessionPair(client.Options(), server.Options());
        var stream = pair.Client.Open();
        pair.RunUntilIdle();

        pair.Run(pair.Server.GoAwayAsync(ErrorCode.EnhanceYourCalm, "draining"));
        pair.RunUntilIdle();

        string id = stream.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var sent = Single(server, 3);
        Assert.That((Value(sent, "Code"), Value(sent, "LastStreamId"), Value(sent, "Debug")), Is.EqualTo(("EnhanceYourCalm", id, "draining")));
        var received = Single(client, 4);
        Assert.That((received.Level, Value(received, "Code"), Value(received, "LastStreamId"), Value(received, "Debug")),
            Is.EqualTo((LogLevel.Information, "EnhanceYourCalm", id, "draining")));
        Assert.That(client.Events(2), Is.Empty, "a GOAWAY alone ends no session");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void A_reset_is_logged_as_sent_by_one_side_and_received_by_the_other()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        var pair = new VirtualSessionPair(client.Options(), server.Options());
        var stream = pair.Client.Open();
        pair.RunUntilIdle();

        stream.Reset(ErrorCode.StreamCancelled);
        pair.RunUntilIdle();

        var sent = Single(client, 5);
        Assert.That((sent.Level, sent.Id.Name, Value(sent, "StreamId"), Value(sent, "Code")),
            Is.EqualTo((LogLevel.Debug, "StreamResetSent", stream.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "StreamCancelled")));
        var received = Single(server, 6);
        Assert.That((received.Level, received.Id.Name, Value(received, "StreamId"), Value(received, "Code")),
            Is.EqualTo((LogLevel.Debug, "StreamResetReceived", sent.GetStructuredStateValue("StreamId"), "StreamCancelled")));
        Assert.That(client.Events(6), Is.Empty, "the side that reset did not receive one");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [TestCase(nameof(MuxSessionOptions.AcceptBacklog))]
    [TestCase(nameof(MuxSessionOptions.MaxIncomingStreams))]
    [TestCase(nameof(MuxSessionOptions.MaxBufferedBytes))]
    public void A_refused_stream_logs_the_limit_it_hit_and_its_id(string limit)
    {
        using var telemetry = new TestTelemetry();
        var options = limit switch
        {
            nameof(MuxSessionOptions.AcceptBacklog) => new MuxSessionOptions { AcceptBacklog = 1 },
            nameof(MuxSessionOptions.MaxIncomingStreams) => new MuxSessionOptions { MaxIncomingStreams = 1 },
            _ => new MuxSessionOptions { WindowSize = Window, MaxBufferedBytes = Window },
        };
        var peer = ScriptedPeer.ForServer(telemetry.Options(options));
        peer.Send(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        peer.ExpectNothingWritten();
        Assert.That(telemetry.Events(7), Is.Empty, "the first stream fits");

        peer.Send(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        peer.ExpectWritten(Frame.Rst(3, limit == nameof(MuxSessionOptions.AcceptBacklog) ? ErrorCode.AcceptQueueFull : ErrorCode.StreamRefused));

        var hit = Single(telemetry, 7);
        Assert.That((hit.Level, hit.Id.Name, Value(hit, "Limit"), Value(hit, "StreamId")), Is.EqualTo((LogLevel.Warning, "LimitHit", limit, "3")));
        Assert.That(Single(telemetry, 5).GetStructuredStateValue("StreamId"), Is.EqualTo("3"), "and the refusal is a reset sent");
    }

    [Test]
    public void A_spent_reply_budget_logs_the_limit_and_a_session_end_that_is_not_clean()
    {
        using var telemetry = new TestTelemetry();
        var peer = ScriptedPeer.ForServer(telemetry.Options(new MuxSessionOptions { ReplyBudgetBurst = 1, ReplyBudgetPerSecond = 0 }));
        peer.Send(Frame.Data(7, "x"u8.ToArray())); // DATA on a stream that never existed: charged, answered with RST
        Assert.That(telemetry.Events(7), Is.Empty, "one charged frame is within the budget");

        peer.Send(Frame.Data(9, "x"u8.ToArray()));
        peer.Scheduler.RunUntilIdle();

        var hit = Single(telemetry, 7);
        Assert.That((hit.Level, Value(hit, "Limit"), Value(hit, "StreamId")), Is.EqualTo((LogLevel.Warning, "ReplyBudget", "9")));
        Assert.That(telemetry.Events(8), Is.Empty, "a spent budget is a limit, not a protocol violation");
        var ended = Single(telemetry, 2);
        Assert.That((ended.Level, Value(ended, "LocalCode"), Value(ended, "Clean")), Is.EqualTo((LogLevel.Warning, "EnhanceYourCalm", "False")));
        Assert.That(Value(Single(telemetry, 3), "Code"), Is.EqualTo("EnhanceYourCalm"));
    }

    [Test]
    public void A_protocol_violation_logs_its_code_reason_and_the_offending_frame()
    {
        using var telemetry = new TestTelemetry();
        var peer = ScriptedPeer.ForServer(telemetry.Options());
        peer.Send(Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)); // a client opens odd ids only
        peer.Scheduler.RunUntilIdle();

        var violation = Single(telemetry, 8);
        Assert.That((violation.Level, violation.Id.Name, Value(violation, "Code")), Is.EqualTo((LogLevel.Warning, "ProtocolViolation", "ProtocolError")));
        Assert.That(Value(violation, "Reason"), Does.Contain("wrong parity"));
        Assert.That(Value(violation, "Frame"), Is.EqualTo("Data stream 2 flags Syn length 0"));
        Assert.That(Value(Single(telemetry, 2), "LocalCode"), Is.EqualTo("ProtocolError"));
    }

    [Test]
    public void A_malformed_frame_logs_a_protocol_violation_with_the_reader_s_reason()
    {
        using var telemetry = new TestTelemetry();
        var peer = ScriptedPeer.ForServer(telemetry.Options());
        peer.Fail(new MuxadoException(ErrorCode.FrameSizeError, "GOAWAY frame too short"));
        peer.Scheduler.RunUntilIdle();

        var violation = Single(telemetry, 8);
        Assert.That((Value(violation, "Code"), Value(violation, "Reason")), Is.EqualTo(("FrameSizeError", "GOAWAY frame too short")));
        Assert.That(Value(violation, "Frame"), Does.StartWith("malformed"));
    }

    [Test]
    public void A_write_timeout_is_logged_with_the_timeout_and_the_bytes_that_waited()
    {
        using var inline = new InlineContinuations();
        using var telemetry = new TestTelemetry();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 2 * 1024 * 1024 };
        var session = MuxSession.Client(transport, telemetry.Options(new MuxSessionOptions { Scheduler = scheduler }));
        _ = session.Open().WriteAsync("held"u8.ToArray()).AsTask();

        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks - 1);
        Assert.That(telemetry.Events(9), Is.Empty);
        scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks + 10);

        var timeout = Single(telemetry, 9);
        Assert.That((timeout.Level, timeout.Id.Name, Value(timeout, "Timeout"), Value(timeout, "PendingBytes")),
            Is.EqualTo((LogLevel.Warning, "WriteTimeout", "00:00:10", (2 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Assert.That(Value(Single(telemetry, 2), "LocalCode"), Is.EqualTo("WriteTimeout"));
    }

    [Test]
    public void Nothing_is_logged_per_data_frame_above_trace()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        var pair = new VirtualSessionPair(client.Options(new MuxSessionOptions { WindowSize = Window }), server.Options(new MuxSessionOptions { WindowSize = Window }));
        pair.Server.Incoming.Subscribe(s => s.Received.Subscribe(_ => { }));
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[20 * Window]).AsTask();
        pair.Run(write);

        Assert.That(pair.ClientFrames.Frames.Count(f => f.Type == FrameType.Data), Is.GreaterThan(20), "many DATA frames went out");
        Assert.That(client.Logs.GetSnapshot().Concat(server.Logs.GetSnapshot()).Where(r => r.Level > LogLevel.Trace).Select(r => r.Id.Id),
            Is.EqualTo(new[] { 1, 1 }).AsCollection, "only the starts");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void A_logger_is_never_called_under_the_session_lock()
    {
        var provider = new LockCheckingProvider();
        using var factory = new LoggerFactory([provider], new LoggerFilterOptions { MinLevel = LogLevel.Trace });
        var options = new MuxSessionOptions { LoggerFactory = factory, AcceptBacklog = 1 };
        var peer = ScriptedPeer.ForServer(options);
        provider.Session = peer.Session;
        peer.Send(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        peer.Send(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)); // limit hit, reset sent
        peer.Send(Frame.Rst(1, ErrorCode.StreamCancelled)); // reset received
        peer.Send(Frame.GoAway(0, ErrorCode.ProtocolError, "bye"u8.ToArray())); // GOAWAY received
        peer.Send(Frame.Data(4, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)); // violation: GOAWAY sent, end
        peer.Scheduler.RunUntilIdle();

        Assert.That(provider.Calls.Select(c => c.EventId).Distinct().Order().ToArray(), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6, 7, 8 }).AsCollection,
            "every kind of event in a session was logged");
        Assert.That(provider.Calls.Where(c => c.UnderLock).Select(c => c.EventId), Is.Empty, "none of them under the session lock");
    }

    private sealed class LockCheckingProvider : ILoggerProvider, ILogger
    {
        public MuxSession? Session { get; set; }

        public List<(int EventId, bool UnderLock)> Calls { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel)
        {
            Assert.That(Session?.Lock.IsHeldByCurrentThread ?? false, Is.False, "IsEnabled under the session lock");
            return true;
        }

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Calls)
            {
                Calls.Add((eventId.Id, Session?.Lock.IsHeldByCurrentThread ?? false));
            }
        }

        public void Dispose()
        {
        }
    }

    [Test]
    public void A_frame_read_while_the_transport_lingers_after_the_end_is_neither_logged_nor_counted()
    {
        // The peer answers our close (GOAWAY and FIN) with a GOAWAY of its own while our transport still lingers for our
        // GOAWAY to leave. The session has ended and ignores the frame; logging it made the log's order depend on which
        // thread won (GoAwayReceived before or after SessionEnded, seen in TcpTelemetryTests under load).
        using var telemetry = new TestTelemetry();
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler) { Pending = 100 }; // our GOAWAY has not left: the close lingers
        var session = MuxSession.Client(transport, telemetry.Options(new MuxSessionOptions { Scheduler = scheduler }));
        var before = session.Statistics;

        var closing = session.DisposeAsync().AsTask();
        scheduler.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.That(session.Completion.IsCompleted, Is.True, "the session has ended");
        Assert.That(transport.DisposedAt, Is.Null, "its transport lingers");
        transport.Peer.OnNext(Frame.GoAway(0, ErrorCode.PeerEOF, "read EOF from remote peer"));
        scheduler.RunFor(TimeSpan.FromSeconds(1));

        // The linger has run out in virtual time; the close's last step (the transport's dispose) ends on the pool.
        Assert.That(closing.Wait(TimeSpan.FromSeconds(30)), Is.True, "the linger ended the close");
        Assert.That(telemetry.Events(4), Is.Empty, "no GoAwayReceived after the end");
        Assert.That(telemetry.Logs.GetSnapshot().Select(r => r.Id.Name).Last(), Is.EqualTo("SessionEnded"), "the end is the last word");
        Assert.That(session.Statistics.FramesReceived, Is.EqualTo(before.FramesReceived), "and the frame is not counted");
    }
}
