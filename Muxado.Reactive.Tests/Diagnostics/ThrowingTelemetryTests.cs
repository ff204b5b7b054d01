using Microsoft.Extensions.Logging;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary>
/// A logger and a meter listener are user code: one that throws must not wedge the session (its end, its Completion, its transport's close).
/// </summary>
public class ThrowingTelemetryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private sealed class ThrowingProvider(int eventId) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ThrowingLogger(eventId);
        public void Dispose()
        {
        }
    }

    private sealed class ThrowingLogger(int eventId) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                throw new InvalidOperationException("logger broke on event " + id.Id);
            }
        }
    }

    [TestCase(2, TestName = "A logger that throws on SessionEnded does not keep the session from ending")]
    [TestCase(3, TestName = "A logger that throws on GoAwaySent does not keep the session from ending")]
    public void A_throwing_logger_does_not_wedge_the_session(int eventId)
    {
        using var loggers = new LoggerFactory([new ThrowingProvider(eventId)]);
        var options = new MuxSessionOptions { LoggerFactory = loggers };
        var pair = new VirtualSessionPair(options, new MuxSessionOptions());
        pair.RunUntilIdle();

        AssertTheClientEndsAndClosesItsTransport(pair);
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    /// <summary>
    /// Disposes the client and runs the scheduler until that call returns, which is once the transport is closed: a
    /// session wedged by its telemetry never gets there (the run fails after its real-time grace).
    /// </summary>
    /// <remarks>
    /// The transport closes once the closing GOAWAY has reached the peer, and the session hears of that through the
    /// transport's write-space task, whose continuation runs on the thread pool (the pair's recording transport is a
    /// transport of the user's, so the session can only await it). Checking after a fixed stretch of virtual time raced
    /// with that continuation; waiting for the dispose itself does not, and the close must still come within the 5 s of
    /// virtual time the test used to allow (the linger is 250 ms).
    /// </remarks>
    private static void AssertTheClientEndsAndClosesItsTransport(VirtualSessionPair pair)
    {
        long start = pair.Scheduler.Clock;
        var dispose = pair.Scheduler.RunUntilCompleted(pair.Client.DisposeAsync().AsTask());
        _ = dispose.Exception; // what the broken telemetry threw may come out of the call; the session must end all the same

        Assert.That(pair.Client.Completion.IsCompleted, Is.True, "the client's Completion");
        Assert.That(pair.ClientTransportClosedAt, Is.InRange(start, start + TimeSpan.FromSeconds(5).Ticks),
            "the client's transport is closed, within 5 s of virtual time");
    }

    private static System.Diagnostics.Metrics.MeterListener ThrowingListener(TestTelemetry telemetry)
    {
        var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == telemetry.Meters)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => throw new InvalidOperationException("listener broke"));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("listener broke"));
        listener.Start();
        return listener;
    }

    [Test]
    public void A_meter_listener_that_throws_does_not_wedge_the_session()
    {
        using var telemetry = new TestTelemetry();
        using var listener = ThrowingListener(telemetry);
        var pair = new VirtualSessionPair(telemetry.Options(), new MuxSessionOptions());
        MuxStream? accepted = null;
        pair.Server.Incoming.Subscribe(s => accepted = s);
        var stream = pair.Client.Open();
        var write = stream.WriteAsync(new byte[100]).AsTask();
        pair.RunUntilIdle();
        Assert.That(accepted, Is.Not.Null, "the stream reached the server");
        Assert.That(write.IsCompletedSuccessfully, Is.True, "the write went through");

        AssertTheClientEndsAndClosesItsTransport(pair);
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    [Test]
    public void A_meter_listener_that_throws_on_the_round_trip_does_not_stop_the_heartbeat()
    {
        using var telemetry = new TestTelemetry();
        using var listener = ThrowingListener(telemetry);
        var pair = new VirtualSessionPair(telemetry.Options(), new MuxSessionOptions());
        _ = AnswerHeartbeatsAsync(pair.Server);
        var heartbeat = pair.Run(Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)));

        var first = pair.Run(heartbeat.BeatAsync());
        var second = pair.Run(heartbeat.BeatAsync());

        Assert.That((first.IsTimeout, second.IsTimeout), Is.EqualTo((false, false)), "both beats were echoed");
        pair.Run(heartbeat.DisposeAsync().AsTask());
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }

    private static async Task AnswerHeartbeatsAsync(MuxSession session)
    {
        try
        {
            while (true)
            {
                _ = await session.AcceptTypedAsync(); // the session answers heartbeat streams once someone accepts typed ones
            }
        }
        catch (MuxadoException)
        {
        }
    }
}
