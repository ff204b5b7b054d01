using System.Reactive.Linq;
using System.Reactive.Subjects;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Issue 12, the whole heartbeat: an on-demand beat (Go's <c>Beat()</c>), an interval and a tolerance that change while it
/// runs, and round-trip statistics; all in virtual time.
/// </summary>
[TestFixture]
public sealed class HeartbeatTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>The server side of the heartbeat stream, answered by hand so that the test decides each echo's time.</summary>
    private sealed class ManualResponder
    {
        private readonly VirtualSessionPair _pair;
        private readonly MuxStream _stream;
        private readonly List<byte> _received = [];

        public ManualResponder(VirtualSessionPair pair)
        {
            _pair = pair;
            _stream = pair.Run(pair.Server.AcceptTypedAsync()).Stream;
            _stream.Received.Subscribe(chunk => _received.AddRange(chunk.ToArray()));
        }

        /// <summary>The beat bytes read and not yet echoed.</summary>
        public int Waiting => _received.Count;

        /// <summary>Answers the beats read so far with other bytes.</summary>
        public void EchoWrong()
        {
            var bytes = _received.Select(b => (byte)~b).ToArray();
            _received.Clear();
            _pair.Run(_stream.WriteAsync(bytes).AsTask());
        }

        /// <summary>Echoes every beat read so far.</summary>
        public void Echo()
        {
            var bytes = _received.ToArray();
            _received.Clear();
            _pair.Run(_stream.WriteAsync(bytes).AsTask());
        }
    }

    private static VirtualSessionPair PairWithoutResponder() =>
        new(serverOptions: new MuxSessionOptions { RespondToHeartbeats = false });

    private static async Task RespondToHeartbeats(MuxSession session)
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

    private static long Time(VirtualSessionPair pair) => pair.Scheduler.Clock;

    [Test]
    public async Task BeatAsync_returns_the_round_trip_to_the_caller_only()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);
        var responder = new ManualResponder(pair);

        var beat = heartbeat.BeatAsync();
        pair.RunFor(Ms);
        Assert.That(responder.Waiting, Is.EqualTo(4), "the beat goes out at once, before the interval");
        pair.RunFor(TimeSpan.FromMilliseconds(250));
        responder.Echo();
        var result = pair.Run(beat);

        Assert.That(result.IsTimeout, Is.False);
        Assert.That(result.Latency, Is.InRange(TimeSpan.FromMilliseconds(251), TimeSpan.FromMilliseconds(252)));
        pair.RunFor(Ms); // an event would reach the watcher a hop later
        Assert.That(events.Messages, Is.Empty, "as in Go, an on-demand beat is not a periodic event");
    }

    [Test]
    public async Task BeatAsync_reports_a_timeout_after_the_tolerance_without_an_echo()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2));
        long start = Time(pair);
        var result = pair.Run(heartbeat.BeatAsync());
        Assert.That(result.IsTimeout, Is.True);
        Assert.That(result.Latency, Is.EqualTo(TimeSpan.Zero));
        Assert.That(result.At.UtcTicks - start, Is.EqualTo(TimeSpan.FromSeconds(2).Ticks));
    }

    [Test]
    public async Task An_on_demand_beat_waits_for_the_beat_out_and_a_tick_meanwhile_goes_after_it()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, Second, TimeSpan.FromSeconds(5));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);
        var responder = new ManualResponder(pair);

        pair.RunFor(TimeSpan.FromSeconds(1.5)); // the periodic beat went out at 1 s
        Assert.That(responder.Waiting, Is.EqualTo(4));
        var beat = heartbeat.BeatAsync();
        pair.RunFor(TimeSpan.FromMilliseconds(100));
        Assert.That(responder.Waiting, Is.EqualTo(4), "one beat out at a time");

        responder.Echo(); // at 1.6 s: the periodic beat is back, the on-demand one goes at once
        pair.RunFor(Ms);
        Assert.That(events.Messages.Select(m => m.Value.Value.IsTimeout), Is.EqualTo(new[] { false }));
        Assert.That(responder.Waiting, Is.EqualTo(4));

        pair.RunFor(TimeSpan.FromMilliseconds(700)); // 2.3 s: the tick at 2 s found the on-demand beat out
        responder.Echo();
        var result = pair.Run(beat);
        Assert.That(result.IsTimeout, Is.False);
        Assert.That(result.Latency, Is.InRange(TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(702)));
        pair.RunFor(Ms);
        Assert.That(responder.Waiting, Is.EqualTo(4), "the missed tick's beat goes as soon as the echo is back");
        Assert.That(events.Messages, Has.Count.EqualTo(1), "only the periodic beat is an event");
    }

    [Test]
    public async Task A_new_interval_takes_effect_from_the_next_beat()
    {
        await using var pair = new VirtualSessionPair();
        _ = RespondToHeartbeats(pair.Server);
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, Second, TimeSpan.FromSeconds(10));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);

        pair.RunFor(TimeSpan.FromSeconds(1.5));
        heartbeat.Interval = TimeSpan.FromSeconds(3);
        Assert.That(heartbeat.Interval, Is.EqualTo(TimeSpan.FromSeconds(3)));
        pair.RunFor(TimeSpan.FromSeconds(7)); // to 8.5 s

        // The beat due at 2 s keeps its time; the ones after it are 3 s apart.
        var seconds = events.Messages.Select(m => Math.Round(m.Value.Value.At.UtcTicks / (double)Second.Ticks, 2));
        Assert.That(seconds, Is.EqualTo(new[] { 1.0, 2.0, 5.0, 8.0 }));
    }

    [Test]
    public async Task A_new_tolerance_takes_effect_from_the_next_timeout_clock()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, Second, TimeSpan.FromSeconds(2));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);

        pair.RunFor(TimeSpan.FromSeconds(3.5)); // a timeout at 3 s; the clock now runs to 6 s
        heartbeat.Tolerance = TimeSpan.FromSeconds(5);
        pair.RunFor(TimeSpan.FromSeconds(10)); // to 13.5 s

        Assert.That(events.Messages.Select(m => m.Value.Value.IsTimeout), Has.All.True);
        Assert.That(events.Messages.Select(m => m.Value.Value.At.UtcTicks), Is.EqualTo(new[] { 3, 6, 12 }.Select(s => TimeSpan.FromSeconds(s).Ticks)));
        // BeatAsync waits the new tolerance.
        long start = Time(pair);
        var result = pair.Run(heartbeat.BeatAsync());
        Assert.That(result.IsTimeout && result.At.UtcTicks - start == TimeSpan.FromSeconds(5).Ticks, Is.True);
    }

    [Test]
    public async Task Durations_out_of_range_are_refused()
    {
        await using var pair = new VirtualSessionPair();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, Second, Second);
        Assert.That(() => heartbeat.Interval = TimeSpan.Zero, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => heartbeat.Interval = TimeSpan.FromDays(2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => heartbeat.Tolerance = -Ms, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => heartbeat.Tolerance = TimeSpan.FromDays(2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        heartbeat.Tolerance = TimeSpan.Zero;
        Assert.That((heartbeat.Interval, heartbeat.Tolerance), Is.EqualTo((Second, TimeSpan.Zero)));
    }

    [Test]
    public async Task BeatAsync_fails_once_the_heartbeat_stopped_and_honours_cancellation()
    {
        await using var pair = PairWithoutResponder();
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
        using var cancel = new CancellationTokenSource();
        var cancelled = heartbeat.BeatAsync(cancel.Token);
        cancel.Cancel();
        Assert.That(() => pair.Run(cancelled), Throws.InstanceOf<OperationCanceledException>());

        var pending = heartbeat.BeatAsync();
        pair.Run(heartbeat.DisposeAsync().AsTask());
        Assert.That(() => pair.Run(pending), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => heartbeat.BeatAsync(), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public async Task BeatAsync_fails_with_the_protocol_error_of_a_wrong_echo()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
        var responder = new ManualResponder(pair);
        var beat = heartbeat.BeatAsync();
        pair.RunFor(Ms);
        responder.EchoWrong();
        Assert.That(() => pair.Run(beat), Throws.InstanceOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public async Task Latencies_summarised_over_a_window_in_virtual_time()
    {
        await using var pair = PairWithoutResponder();
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, Second, TimeSpan.FromSeconds(5));
        var statistics = pair.Scheduler.CreateObserver<RoundTripStatistics>();
        heartbeat.Latencies.ToRoundTripStatistics(window: 2).Subscribe(statistics);
        var responder = new ManualResponder(pair);

        foreach (int delay in new[] { 100, 300, 200 }) // echoed that long after each beat at 1 s, 2 s, 3 s
        {
            pair.Scheduler.RunTo(Time(pair) / Second.Ticks * Second.Ticks + Second.Ticks + delay * Ms.Ticks);
            responder.Echo();
        }
        pair.RunFor(Ms);

        var summaries = statistics.Messages.Select(m => m.Value.Value).ToList();
        Assert.That(summaries.Select(s => s.Count), Is.EqualTo(new[] { 1, 2, 2 }));
        Assert.That(summaries.Select(s => (int)Math.Round(s.Min.TotalMilliseconds)), Is.EqualTo(new[] { 100, 100, 200 }));
        Assert.That(summaries.Select(s => (int)Math.Round(s.Max.TotalMilliseconds)), Is.EqualTo(new[] { 100, 300, 300 }));
        Assert.That(summaries.Select(s => (int)Math.Round(s.Mean.TotalMilliseconds)), Is.EqualTo(new[] { 100, 200, 250 }));
    }

    [Test]
    public void Statistics_slide_over_the_last_round_trips_with_a_nearest_rank_p99()
    {
        var source = new Subject<TimeSpan>();
        var seen = new List<RoundTripStatistics>();
        using var _ = source.ToRoundTripStatistics(window: 3).Subscribe(seen.Add);
        foreach (int ms in new[] { 5, 1, 3, 10 })
        {
            source.OnNext(TimeSpan.FromMilliseconds(ms));
        }
        Assert.That(seen, Is.EqualTo(new[]
        {
            new RoundTripStatistics(1, 5 * Ms, 5 * Ms, 5 * Ms, 5 * Ms),
            new RoundTripStatistics(2, 1 * Ms, 3 * Ms, 5 * Ms, 5 * Ms),
            new RoundTripStatistics(3, 1 * Ms, 3 * Ms, 5 * Ms, 5 * Ms),
            new RoundTripStatistics(3, 1 * Ms, TimeSpan.FromTicks(14 * Ms.Ticks / 3), 10 * Ms, 10 * Ms),
        }));

        // Of 1..200 ms, 99 % are at most 198 ms.
        var last = default(RoundTripStatistics);
        using var wide = Enumerable.Range(1, 200).Select(ms => TimeSpan.FromMilliseconds(ms)).ToObservable()
            .ToRoundTripStatistics(window: 200).Subscribe(s => last = s);
        Assert.That(last, Is.EqualTo(new RoundTripStatistics(200, Ms, TimeSpan.FromTicks(1005 * Ms.Ticks / 10), 200 * Ms, 198 * Ms)));
    }

    [Test]
    public void Statistics_refuse_bad_windows_and_negative_round_trips()
    {
        var source = new Subject<TimeSpan>();
        Assert.That(() => source.ToRoundTripStatistics(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => source.ToRoundTripStatistics(RoundTripStatisticsExtensions.MaxWindow + 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Exception? error = null;
        using var _ = source.ToRoundTripStatistics(4).Subscribe(_ => { }, e => error = e);
        source.OnNext(-Ms);
        Assert.That(error, Is.InstanceOf<ArgumentOutOfRangeException>());
    }
}
