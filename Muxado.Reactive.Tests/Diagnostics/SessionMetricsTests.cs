using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Muxado.Reactive.Diagnostics;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Tests.Sessions;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary>
/// The session's instruments (issue 12) on a meter of <see cref="MuxSessionOptions.MeterFactory"/>: each test has its
/// own factory, so its collectors see its sessions only. In virtual time.
/// </summary>
public class SessionMetricsTests
{
    private const int Window = 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static MetricCollector<T> Collect<T>(TestTelemetry telemetry, string instrument) where T : struct =>
        new(telemetry.Meters, MuxInstruments.MeterName, instrument);

    private static long Sum(MetricCollector<long> collector, string? tag = null, string? value = null) =>
        collector.GetMeasurementSnapshot().Where(m => tag is null || Equals(m.Tags[tag], value)).Sum(m => m.Value);

    private static long Observed(MetricCollector<long> collector)
    {
        collector.RecordObservableInstruments();
        return collector.LastMeasurement!.Value;
    }

    [Test]
    public void Sessions_and_streams_are_counted_as_they_open_reset_and_end()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        using var sessionsActive = Collect<long>(client, "muxado.session.active");
        using var sessionsEnded = Collect<long>(client, "muxado.session.ended");
        using var serverEnded = Collect<long>(server, "muxado.session.ended");
        using var opened = Collect<long>(client, "muxado.stream.opened");
        using var accepted = Collect<long>(server, "muxado.stream.accepted");
        using var active = Collect<long>(client, "muxado.stream.active");
        using var serverActive = Collect<long>(server, "muxado.stream.active");
        using var clientResets = Collect<long>(client, "muxado.stream.reset");
        using var serverResets = Collect<long>(server, "muxado.stream.reset");
        var pair = new VirtualSessionPair(client.Options(), server.Options());
        Assert.That(Observed(sessionsActive), Is.EqualTo(1), "the client's meter sees the client only");

        var first = pair.Client.Open();
        _ = pair.Client.Open();
        pair.RunUntilIdle();
        Assert.That((Sum(opened), Sum(accepted), Observed(active), Observed(serverActive)), Is.EqualTo((2L, 2L, 2L, 2L)));
        using var lateActive = Collect<long>(client, "muxado.stream.active");
        Assert.That(Observed(lateActive), Is.EqualTo(2), "a listener that starts late sees the streams already open");
        Assert.That(Collect<long>(server, "muxado.stream.opened").GetMeasurementSnapshot(), Is.Empty, "the server opened none");

        first.Reset(ErrorCode.StreamCancelled);
        pair.RunUntilIdle();
        Assert.That((Observed(active), Observed(serverActive)), Is.EqualTo((1L, 1L)));
        var sent = clientResets.GetMeasurementSnapshot().Single();
        Assert.That((sent.Value, sent.Tags["muxado.error_code"], sent.Tags["muxado.reset.side"]), Is.EqualTo((1L, (object?)"StreamCancelled", (object?)"local")));
        var received = serverResets.GetMeasurementSnapshot().Single();
        Assert.That((received.Tags["muxado.error_code"], received.Tags["muxado.reset.side"]), Is.EqualTo(((object?)"StreamCancelled", (object?)"peer")));

        pair.Run(pair.Client.DisposeAsync().AsTask());
        pair.RunUntilIdle();
        Assert.That((Observed(sessionsActive), Observed(active), Observed(serverActive)), Is.EqualTo((0L, 0L, 0L)), "the end takes the open streams with it");
        Assert.That(Sum(sessionsEnded, "muxado.error_code", "NoError"), Is.EqualTo(1));
        Assert.That(Sum(serverEnded, "muxado.error_code", "PeerEOF"), Is.EqualTo(1), "the server read the client's clean close");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void Frames_and_bytes_are_counted_by_type_as_they_are_written_and_read()
    {
        using var client = new TestTelemetry();
        using var server = new TestTelemetry();
        using var framesSent = Collect<long>(client, "muxado.frames.sent");
        using var bytesSent = Collect<long>(client, "muxado.bytes.sent");
        using var framesReceived = Collect<long>(server, "muxado.frames.received");
        using var bytesReceived = Collect<long>(server, "muxado.bytes.received");
        var options = new MuxSessionOptions { WindowSize = Window };
        var pair = new VirtualSessionPair(client.Options(options), server.Options(options));
        pair.Server.Incoming.Subscribe(s => s.Received.Subscribe(_ => { }));
        var stream = pair.Client.Open();
        pair.Run(stream.WriteAsync(new byte[5 * Window]).AsTask());
        stream.CloseWrite();
        pair.RunUntilIdle();

        var written = pair.ClientFrames.Frames;
        Assert.That(written.Count(f => f.Type == FrameType.Data), Is.GreaterThan(5));
        Assert.That(Sum(framesSent, "muxado.frame.type", "data"), Is.EqualTo(written.Count(f => f.Type == FrameType.Data)));
        Assert.That(Sum(framesSent), Is.EqualTo(written.Count));
        Assert.That(Sum(bytesSent), Is.EqualTo(written.Sum(f => (long)f.WireLength)));
        Assert.That(Sum(framesReceived, "muxado.frame.type", "data"), Is.EqualTo(written.Count(f => f.Type == FrameType.Data)), "what one side writes the other reads");
        Assert.That(Sum(bytesReceived), Is.EqualTo(Sum(bytesSent)));
        Assert.That(pair.ServerFrames.Frames.Count(f => f.Type == FrameType.WndInc), Is.GreaterThan(0), "the server returned credit");
        Assert.That(bytesSent.GetMeasurementSnapshot().All(m => m.Tags.Count == 0), Is.True, "bytes carry no tags");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void A_write_s_wait_for_window_credit_is_recorded_in_seconds()
    {
        using var client = new TestTelemetry();
        using var creditWait = Collect<double>(client, "muxado.write.credit_wait");
        var options = new MuxSessionOptions { WindowSize = Window };
        var pair = new VirtualSessionPair(client.Options(options), options);
        MuxStream? accepted = null;
        pair.Server.Incoming.Subscribe(s => accepted = s);
        long start = pair.Scheduler.Clock;
        var write = pair.Client.Open().WriteAsync(new byte[2 * Window]).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompleted, Is.False, "the write waits for the window");
        Assert.That(creditWait.GetMeasurementSnapshot(), Is.Empty, "nothing is recorded while it waits");

        pair.RunFor(TimeSpan.FromSeconds(5));
        var shut = TimeSpan.FromTicks(pair.Scheduler.Clock - start);
        accepted!.Received.Subscribe(_ => { }); // the reader starts: credit goes back
        pair.Run(write);

        var waited = creditWait.GetMeasurementSnapshot().Single().Value;
        Assert.That(shut, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(waited, Is.EqualTo(shut.TotalSeconds).Within(0.01), "the virtual time the reader kept the window shut");
        Assert.That(creditWait.Instrument!.Unit, Is.EqualTo("s"));
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void The_write_queue_gauge_sums_the_bytes_waiting_in_the_sessions_of_its_meter_until_they_end()
    {
        using var inline = new InlineContinuations();
        using var telemetry = new TestTelemetry();
        using var queued = Collect<long>(telemetry, "muxado.write_queue.bytes");
        var scheduler = new BoundedTestScheduler();
        var first = new ManualTransport(scheduler) { Pending = 1000 };
        var second = new ManualTransport(scheduler) { Pending = 234 };
        var a = MuxSession.Client(first, telemetry.Options(new MuxSessionOptions { Scheduler = scheduler }));
        var b = MuxSession.Client(second, telemetry.Options(new MuxSessionOptions { Scheduler = scheduler }));
        // The session reads a transport's own counters when it hands it frames (never under its lock).
        _ = a.Open().WriteAsync("held"u8.ToArray()).AsTask();
        _ = b.Open().WriteAsync("held"u8.ToArray()).AsTask();
        long expected = a.Statistics.QueuedWriteBytes + b.Statistics.QueuedWriteBytes;
        Assert.That(expected, Is.GreaterThanOrEqualTo(1234), "both transports hold bytes");

        queued.RecordObservableInstruments();
        Assert.That(queued.LastMeasurement!.Value, Is.EqualTo(expected));
        Assert.That(queued.Instrument!.Unit, Is.EqualTo("By"));

        first.Pending = 0;
        _ = Task.WhenAll(a.DisposeAsync().AsTask(), b.DisposeAsync().AsTask());
        scheduler.RunTo(TimeSpan.FromSeconds(1).Ticks);
        Assert.That(a.Completion.IsCompleted && b.Completion.IsCompleted, Is.True, "both sessions ended");
        queued.RecordObservableInstruments();
        Assert.That(queued.LastMeasurement!.Value, Is.EqualTo(0), "ended sessions leave the sum");
    }

    [Test]
    public async Task Every_echoed_heartbeat_records_its_round_trip_in_seconds_on_the_session_s_meter()
    {
        using var telemetry = new TestTelemetry();
        using var roundTrips = Collect<double>(telemetry, "muxado.heartbeat.round_trip");
        var pair = new VirtualSessionPair(telemetry.Options());
        var answering = pair.Server.AcceptTypedAsync(); // the server's typed accept answers heartbeats
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var latencies = new List<TimeSpan>();
        using var watching = heartbeat.Latencies.Subscribe(latencies.Add);

        pair.RunFor(TimeSpan.FromSeconds(3.5));

        Assert.That(latencies, Has.Count.EqualTo(3), "three beats answered");
        Assert.That(roundTrips.GetMeasurementSnapshot().Select(m => m.Value),
            Is.EqualTo(latencies.Select(l => l.TotalSeconds)).AsCollection, "one measurement per echo, in seconds");
        Assert.That(roundTrips.Instrument!.Unit, Is.EqualTo("s"));
        await heartbeat.DisposeAsync();
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
        _ = answering.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    [Test]
    public void Without_a_meter_factory_sessions_use_the_library_s_meter_named_Muxado_Reactive()
    {
        var instruments = MuxInstruments.For(null);
        Assert.That(instruments.Meter, Is.SameAs(MuxInstruments.DefaultMeter));
        Assert.That(instruments.Meter.Name, Is.EqualTo("Muxado.Reactive"));
        Assert.That(instruments.Meter.Version, Is.EqualTo(typeof(MuxSession).Assembly.GetName().Version!.ToString()));
        Assert.That(MuxInstruments.For(null), Is.SameAs(instruments), "one set of instruments per meter");
        using var telemetry = new TestTelemetry();
        Assert.That(MuxInstruments.For(telemetry.Meters).Meter.Scope, Is.SameAs(telemetry.Meters), "a factory's meter otherwise");
    }

    [Test]
    public void A_meter_listener_is_never_called_under_the_session_lock()
    {
        using var client = new TestTelemetry();
        var sessions = new List<MuxSession>();
        var calls = new List<(string Instrument, bool UnderLock)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == client.Meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record<T>(System.Diagnostics.Metrics.Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            lock (calls)
            {
                calls.Add((instrument.Name, sessions.Any(s => s.Lock.IsHeldByCurrentThread)));
            }
        }
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();
        var options = new MuxSessionOptions { WindowSize = Window };
        var pair = new VirtualSessionPair(client.Options(options), client.Options(options));
        sessions.AddRange([pair.Client, pair.Server]);
        MuxStream? accepted = null;
        pair.Server.Incoming.Subscribe(s => accepted = s);
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[2 * Window]).AsTask();
        pair.RunUntilIdle();
        accepted!.Received.Subscribe(_ => { });
        pair.Run(write);
        stream.Reset(ErrorCode.StreamCancelled);
        pair.Run(pair.Client.DisposeAsync().AsTask());
        pair.RunUntilIdle();
        listener.RecordObservableInstruments();

        Assert.That(calls.Select(c => c.Instrument).Distinct().Order(StringComparer.Ordinal).ToArray(), Is.EqualTo(new[]
        {
            "muxado.bytes.received", "muxado.bytes.sent", "muxado.frames.received", "muxado.frames.sent", "muxado.session.active", "muxado.session.ended",
            "muxado.stream.accepted", "muxado.stream.active", "muxado.stream.opened", "muxado.stream.reset", "muxado.write.credit_wait", "muxado.write_queue.bytes",
        }).AsCollection, "every instrument made measurements");
        Assert.That(calls.Where(c => c.UnderLock).Select(c => c.Instrument).Distinct(), Is.Empty, "none under a session lock");
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }
}
