using System.Reactive.Linq;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary><see cref="MuxSession.Statistics"/> and <see cref="MuxSession.StatisticsEvery"/> (issue 12), in virtual time.</summary>
public class SessionStatisticsTests
{
    private const int Window = 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Test]
    public void Statistics_count_streams_buffered_bytes_and_traffic_as_the_recorded_frames_say()
    {
        var options = new MuxSessionOptions { WindowSize = Window };
        var pair = new VirtualSessionPair(options);
        Assert.That(pair.Client.Statistics, Is.EqualTo(new SessionStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0)), "nothing yet");
        var accepted = new List<MuxStream>();
        pair.Server.Incoming.Subscribe(accepted.Add);
        var first = pair.Client.Open();
        _ = pair.Client.Open();
        pair.Run(first.WriteAsync(new byte[300]).AsTask());
        pair.RunUntilIdle();

        var client = pair.Client.Statistics;
        var server = pair.Server.Statistics;
        var sent = pair.ClientFrames.Frames;
        Assert.That((client.OpenStreams, client.StreamsOpened, client.StreamsAccepted), Is.EqualTo((2, 2L, 0L)));
        Assert.That((server.OpenStreams, server.StreamsOpened, server.StreamsAccepted), Is.EqualTo((2, 0L, 2L)));
        Assert.That(server.BufferedReceiveBytes, Is.EqualTo(300), "nobody read the 300 bytes yet");
        Assert.That((client.FramesSent, client.BytesSent), Is.EqualTo(((long)sent.Count, sent.Sum(f => (long)f.WireLength))));
        Assert.That((server.FramesReceived, server.BytesReceived), Is.EqualTo((client.FramesSent, client.BytesSent)), "what one side writes the other reads");
        Assert.That((client.FramesReceived, server.FramesSent), Is.EqualTo((0L, 0L)), "the server said nothing yet");

        accepted[0].Received.Subscribe(_ => { });
        pair.RunUntilIdle();
        server = pair.Server.Statistics;
        Assert.That(server.BufferedReceiveBytes, Is.EqualTo(0), "read");
        Assert.That(server.FramesSent, Is.EqualTo(pair.ServerFrames.Frames.Count).And.GreaterThan(0), "the credit it returned");

        first.Reset(ErrorCode.StreamCancelled);
        pair.RunUntilIdle();
        Assert.That((pair.Client.Statistics.OpenStreams, pair.Server.Statistics.OpenStreams), Is.EqualTo((1, 1)));
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
        Assert.That(pair.Client.Statistics.OpenStreams, Is.EqualTo(0), "the end closes every stream");
        Assert.That(pair.Client.Statistics.StreamsOpened, Is.EqualTo(2), "the totals stay");
    }

    [Test]
    public void StatisticsEvery_snapshots_on_the_session_s_scheduler_each_period_and_completes_with_a_last_one_at_the_end()
    {
        var pair = new VirtualSessionPair();
        var observer = pair.Scheduler.CreateObserver<SessionStatistics>();
        using var subscription = pair.Client.StatisticsEvery(TimeSpan.FromSeconds(1)).Subscribe(observer);
        long start = pair.Scheduler.Clock;
        pair.RunFor(TimeSpan.FromSeconds(2.5));
        _ = pair.Client.Open();
        pair.RunFor(TimeSpan.FromSeconds(1));

        var ticks = observer.Messages.Select(m => m.Time - start).ToArray();
        Assert.That(ticks, Is.EqualTo(new[] { 1L, 2, 3 }.Select(s => TimeSpan.FromSeconds(s).Ticks)).AsCollection, "one a second");
        Assert.That(observer.Messages.Select(m => m.Value.Value.OpenStreams), Is.EqualTo(new[] { 0, 0, 1 }).AsCollection);

        pair.Run(pair.Client.DisposeAsync().AsTask());
        pair.RunUntilIdle();
        var kinds = observer.Messages.Select(m => m.Value.Kind).ToArray();
        Assert.That(kinds[^1], Is.EqualTo(System.Reactive.NotificationKind.OnCompleted), "completes when the session ends");
        Assert.That(observer.Messages[^2].Value.Value.OpenStreams, Is.EqualTo(0), "after a last snapshot of the end");
        int count = observer.Messages.Count;
        pair.RunFor(TimeSpan.FromSeconds(5));
        Assert.That(observer.Messages, Has.Count.EqualTo(count), "and its timer stopped");
        Assert.That(() => pair.Client.StatisticsEvery(TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);
    }
}
