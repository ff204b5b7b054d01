using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class VirtualSessionPairTests
{
    [Test]
    public async Task A_request_and_its_reply_cross_in_virtual_time_and_every_frame_is_recorded()
    {
        await using var pair = new VirtualSessionPair();
        pair.Server.Incoming.Subscribe(s => s.Received.Subscribe(
            c => _ = s.WriteAsync(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(c.Span).ToUpperInvariant())).AsTask(),
            () => s.CloseWrite()));

        var stream = pair.Client.Open();
        var reply = stream.Received.Aggregate("", (text, c) => text + Encoding.ASCII.GetString(c.Span)).ToTask();
        await stream.WriteAsync("ping"u8.ToArray());
        stream.CloseWrite();

        Assert.That(pair.Run(reply), Is.EqualTo("PING"));
        Assert.That(pair.ClientFrames.Frames.Where(f => f.StreamId == stream.Id), Is.EqualTo(new[]
        {
            Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(stream.Id, "ping"u8.ToArray()),
            Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }));
        Assert.That(pair.ServerFrames.Frames, Does.Contain(Frame.Data(stream.Id, "PING"u8.ToArray())));
        Assert.That(pair.ClientFrames.Messages.Select(m => m.Time), Is.Ordered, "stamped with the virtual clock");
    }

    [Test]
    public async Task Dispose_closes_both_sessions_in_virtual_time()
    {
        var pair = new VirtualSessionPair();
        await pair.DisposeAsync();
        Assert.That(pair.Client.Completion.IsCompleted && pair.Server.Completion.IsCompleted, Is.True);
        Assert.That(pair.ClientFrames.Frames.Last(), Is.EqualTo(Frame.GoAway(0, ErrorCode.NoError, "no error")));
        Assert.That(pair.ClientTransportClosedAt, Is.Not.Null);
        Assert.That(pair.ServerTransportClosedAt, Is.Not.Null);
    }

    [Test]
    public async Task A_heartbeat_never_lets_the_pair_go_idle_but_its_timeouts_land_on_exact_ticks()
    {
        await using var pair = new VirtualSessionPair();
        // Nobody answers heartbeats on the server (it does not accept typed streams): every beat times out.
        var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var events = pair.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);

        var livelock = Assert.Throws<TestFailureException>(() => pair.RunUntilIdle(maxSteps: 1_000));
        Assert.That(livelock!.Message, Does.Contain("heartbeat"));

        var since = pair.Scheduler.Clock;
        pair.RunFor(TimeSpan.FromSeconds(10));
        var timeouts = events.Messages.Where(m => m.Value.Value.IsTimeout).ToList();
        Assert.That(timeouts, Is.Not.Empty);
        Assert.That(timeouts.Select(m => m.Value.Value.At.UtcTicks % TimeSpan.FromSeconds(3).Ticks), Has.All.Zero, "interval + tolerance, on the tick");
        Assert.That(timeouts.Select(m => m.Time - m.Value.Value.At.UtcTicks), Has.All.EqualTo(1), "delivered one hop (one tick) later");
        var timeoutTimes = timeouts.Select(m => m.Time).ToList();
        Assert.That(timeoutTimes.Last(), Is.GreaterThan(since));
        await heartbeat.DisposeAsync();
    }

    [Test]
    public async Task Options_keep_their_settings_and_get_the_pairs_scheduler()
    {
        await using var pair = new VirtualSessionPair(new MuxSessionOptions { WindowSize = 4096 }, new MuxSessionOptions { AcceptBacklog = 3 });
        Assert.That(pair.Client.Options.Scheduler, Is.SameAs(pair.Scheduler));
        Assert.That(pair.Server.Options.Scheduler, Is.SameAs(pair.Scheduler));
        Assert.That(pair.Client.Options.WindowSize, Is.EqualTo(4096));
        Assert.That(pair.Server.Options.AcceptBacklog, Is.EqualTo(3));
    }

    [Test]
    public async Task Run_fails_when_the_task_waits_for_something_that_never_happens()
    {
        await using var pair = new VirtualSessionPair();
        var accept = pair.Server.AcceptAsync(); // nobody opens a stream
        var failure = Assert.Throws<TestFailureException>(() => pair.Scheduler.RunUntilCompleted(accept, realTimeGrace: TimeSpan.FromMilliseconds(50)));
        Assert.That(failure!.Message, Does.Contain("never happens"));
        pair.Client.Open();
        Assert.That(pair.Run(accept).Id, Is.Not.Zero);
    }
}
