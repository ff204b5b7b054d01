using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing.Example.Protocol;
using static Microsoft.Reactive.Testing.ReactiveTest;

namespace Muxado.Reactive.Testing.Example.Tests;

/// <summary>
/// The client's session faces a server that the test plays frame by frame (a <see cref="ScriptedPeer"/>): what the
/// client writes is checked as frame marbles, what the application sees as recorded notifications.
/// </summary>
public class JsonCallWireTests
{
    /// <summary>Time zero at tick 0, one marble frame per 100 ms.</summary>
    private static readonly MarbleTiming Tenths = new(0, TimeSpan.FromMilliseconds(100).Ticks);

    [Test]
    public async Task A_call_is_a_stream_carrying_the_request_and_the_reply()
    {
        await using var server = ScriptedPeer.ForClient(timing: Tenths);
        var client = new JsonClient(server.Session, server.Scheduler, timeout: TimeSpan.FromSeconds(2));
        // Record subscribes outside NUnit's synchronization context, so the call's awaits continue in virtual time.
        var results = server.Scheduler.Record(client.Call("add", 1, 2));

        // The request leaves at once on the client's first stream (3, as Go's): open, the JSON, half-close.
        // The server answers 300 ms later.
        server.Send("---([DATA 3 '{\"id\":1,\"result\":3}'][FIN 3])");
        server.ExpectTimeline("([SYN 3][DATA 3 '{\"id\":1,\"method\":\"add\",\"params\":[1,2]}'][FIN 3])");
        results.Messages.ExpectMarbles("---(3|)", new Dictionary<char, int> { ['3'] = 3 }, timing: Tenths);
    }

    [Test]
    public async Task A_slow_server_withholding_credit_holds_a_large_request_back()
    {
        // Both ends use a 1 KiB window; the request is larger, so its tail waits for the server's WNDINC.
        var options = new MuxSessionOptions { WindowSize = 1024 };
        await using var server = ScriptedPeer.ForClient(options, timing: Tenths);
        var client = new JsonClient(server.Session, server.Scheduler, timeout: TimeSpan.FromSeconds(5));
        var numbers = Enumerable.Range(0, 500).ToArray();
        var request = new JsonRequest(1, "sum", numbers).ToBytes();
        Assert.That(request.Length, Is.InRange(1025, 2048));
        var wire = new Dictionary<char, Frame>
        {
            ['s'] = Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            ['a'] = Frame.Data(3, request.AsMemory(0, 1024)),
            ['b'] = Frame.Data(3, request.AsMemory(1024)),
            ['f'] = Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
            ['w'] = Frame.WndInc(3, 1024),
            ['r'] = Frame.Data(3, new JsonReply(1, numbers.Sum(), null).ToBytes()),
            ['e'] = Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        };
        var results = server.Scheduler.Record(client.Call("sum", numbers));

        // The server reads the first KiB and grants more only after a second; it answers 200 ms after that.
        server.Send("----------w-(re)", wire);
        // a group lasts one frame per frame in it plus two: (sa) takes frames 0-3, six dashes reach 1 s.
        server.ExpectTimeline("(sa)------(bf)", wire);
        results.Messages.ExpectMarbles("------------(N|)", new Dictionary<char, int> { ['N'] = numbers.Sum() }, timing: Tenths);
    }

    [Test]
    public async Task A_server_that_never_answers_heartbeats_times_out_on_exact_ticks()
    {
        await using var server = ScriptedPeer.ForClient();
        var heartbeat = server.Scheduler.RunUntilCompleted(
            Heartbeat.StartAsync(server.Session, interval: TimeSpan.FromSeconds(1), tolerance: TimeSpan.FromSeconds(2)));
        var events = server.Scheduler.CreateObserver<HeartbeatEvent>();
        heartbeat.Events.Subscribe(events);

        // A heartbeat never lets the scheduler go idle: run to a time instead.
        server.Scheduler.RunTo(TimeSpan.FromSeconds(10).Ticks);

        // No echo ever comes: a timeout every interval + tolerance, 3 s = 30,000,000 ticks, on the tick (At),
        // recorded one tick later (the hop to the observer's drain runs at now + 1 on the test scheduler).
        RecordedAssert.AreEqual(
            [
                OnNext<HeartbeatEvent>(30_000_000 + 1, e => e.IsTimeout && e.At.UtcTicks == 30_000_000),
                OnNext<HeartbeatEvent>(60_000_000 + 1, e => e.IsTimeout && e.At.UtcTicks == 60_000_000),
                OnNext<HeartbeatEvent>(90_000_000 + 1, e => e.IsTimeout && e.At.UtcTicks == 90_000_000),
            ],
            events.Messages);
        // What went out: the heartbeat stream (typed 0xFFFFFFFF) and one 4-byte beat at 1 s, never answered.
        var written = server.Written.Messages;
        Assert.That(written.Select(m => m.Value.Value).Take(2), Is.EqualTo(new[]
        {
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }),
        }));
        Assert.That(written.Skip(2).Select(m => (m.Time, m.Value.Value.Length)), Is.EqualTo(new[] { (10_000_000L, 4) }));
        await heartbeat.DisposeAsync();
    }
}
