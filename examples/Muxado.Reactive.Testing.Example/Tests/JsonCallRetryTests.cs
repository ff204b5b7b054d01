using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing.Example.Protocol;

namespace Muxado.Reactive.Testing.Example.Tests;

/// <summary>
/// The client and the server of the protocol on a <see cref="VirtualSessionPair"/>: timeouts and retries in
/// virtual time, the application's observable checked as recorded notifications, the wire as frame marbles.
/// </summary>
public class JsonCallRetryTests
{
    /// <summary>Time zero at tick 0, one marble frame per second.</summary>
    private static readonly MarbleTiming Seconds = new(0, TimeSpan.TicksPerSecond);

    [Test]
    public async Task An_answer_slower_than_the_timeout_is_abandoned_and_the_retry_gets_the_reply()
    {
        await using var pair = new VirtualSessionPair();
        var attempt = 0;
        using var server = new JsonServer(pair.Server, call => ++attempt == 1
            ? Observable.Return(call.Params.Sum()).Delay(TimeSpan.FromSeconds(5), pair.Scheduler) // the first attempt is slow
            : Observable.Return(call.Params.Sum())).Start();
        var client = new JsonClient(pair.Client, pair.Scheduler, timeout: TimeSpan.FromSeconds(2));

        var results = pair.Scheduler.Record(client.Call("add", 1, 2));
        pair.RunUntilIdle();

        // The reply comes on the second attempt, right after the first timed out at 2 s.
        results.Messages.ExpectMarbles("--(3|)", new Dictionary<char, int> { ['3'] = 3 }, timing: Seconds);
        // On the wire: the client reset the abandoned stream at 2 s; the server's late answer at 5 s went nowhere.
        var resets = pair.ClientFrames.Messages.Where(m => m.Value.Value.Type == FrameType.Rst);
        resets.ExpectFrames("--[RST 3 StreamCancelled]", timing: Seconds);
        Assert.That(attempt, Is.EqualTo(2));
    }

    [Test]
    public async Task When_every_attempt_times_out_the_call_fails_after_the_last()
    {
        await using var pair = new VirtualSessionPair();
        using var server = new JsonServer(pair.Server, _ => Observable.Never<int>()).Start();
        var client = new JsonClient(pair.Client, pair.Scheduler, timeout: TimeSpan.FromSeconds(2), attempts: 3);

        var results = pair.Scheduler.Record(client.Call("add", 1, 2));
        pair.RunUntilIdle();

        results.Messages.ExpectMarbles("------#", new Dictionary<char, int>(), new TimeoutException(), Seconds);
        var resets = pair.ClientFrames.Messages.Where(m => m.Value.Value.Type == FrameType.Rst);
        resets.ExpectFrames("--[RST 3 StreamCancelled]-[RST 5 StreamCancelled]-[RST 7 StreamCancelled]", timing: Seconds);
    }

    [Test]
    public async Task An_error_reply_fails_the_call_without_a_retry()
    {
        await using var pair = new VirtualSessionPair();
        var calls = 0;
        using var server = new JsonServer(pair.Server, call =>
        {
            calls++;
            return Observable.Throw<int>(new InvalidOperationException($"no method '{call.Method}'"));
        }).Start();
        var client = new JsonClient(pair.Client, pair.Scheduler, timeout: TimeSpan.FromSeconds(2));

        var results = pair.Scheduler.Record(client.Call("divide", 1, 0));
        pair.RunUntilIdle();

        RecordedAssert.AreEqual([ReactiveTest.OnError<int>(results.Messages.Single().Time, new JsonCallException("no method 'divide'"))], results.Messages);
        Assert.That(results.Messages.Single().Time, Is.LessThan(TimeSpan.TicksPerMillisecond), "no timeout was waited for");
        Assert.That(calls, Is.EqualTo(1));
    }
}
