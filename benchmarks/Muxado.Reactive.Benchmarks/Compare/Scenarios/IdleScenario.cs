using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// idle10k / idle100k: the managed memory that N open, idle streams hold (bytes per stream).
/// </summary>
/// <remarks>
/// <para>Both ends live in this process, so the figure is per stream <em>counting both ends</em>: the client's
/// stream and the server's accepted stream, with each session's bookkeeping for it. One end costs about half.</para>
/// <para>Method: connect, open and accept one stream (so first-use allocations are not charged to the N), size the
/// lists that keep the streams alive, then <see cref="GC.GetTotalMemory(bool)"/> with a full collection; open N
/// streams and accept all of them; full collection again; (after - before) / N. Nothing is written: "idle".</para>
/// <para>Muxado's limits are raised to N (accept backlog, incoming streams), since its defaults refuse more than
/// 128 unaccepted and 1024 open streams; Nerdbank has no such limits. Nerdbank offers are made 64 at a time, as each
/// offer waits for its acceptance.</para>
/// </remarks>
internal sealed class IdleScenario(Sizes sizes, int streams) : Scenario
{
    private const int OffersInFlight = 64;

    public override string Name => $"idle{streams / 1000}k";
    public override string Unit => "bytes/stream";
    public override string WorkUnit => "B/stream";
    public override bool HigherIsBetter => false;
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Muxado, Impl.Nerdbank];

    public int Streams => streams;

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        int n = warmup ? sizes.IdleWarmupStreams : streams;
        var options = new MuxSessionOptions
        {
            AcceptBacklog = streams + 1,
            MaxIncomingStreams = streams + 1,
            // A window committed per admitted stream (a bound on what the peer may make us buffer, not memory taken).
            MaxBufferedBytes = (streams + 1L) * MuxSessionOptions.Default.WindowSize,
        };
        await using var pair = await MuxPairs.ConnectAsync(impl, options).ConfigureAwait(false);
        var first = await pair.OpenAndAcceptAsync().ConfigureAwait(false);
        var opened = new List<IBenchStream>(n);
        var accepted = new List<IBenchStream>(n);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        var probe = Probe.Start();
        var accepting = Task.Run(async () =>
        {
            for (int i = 0; i < n; i++)
            {
                accepted.Add(await pair.AcceptAsync().ConfigureAwait(false));
            }
        });
        await OpenAsync(pair, opened, n).ConfigureAwait(false);
        await accepting.ConfigureAwait(false);
        var timing = probe.Stop(seconds => n / seconds, n);
        long after = GC.GetTotalMemory(forceFullCollection: true);

        Check.Equal(n, opened.Count, "streams opened");
        Check.Equal(n, accepted.Count, "streams accepted");
        GC.KeepAlive(first);
        double perStream = (double)(after - before) / n;
        return timing with { Value = perStream };
    }

    private static async Task OpenAsync(IMuxPair pair, List<IBenchStream> opened, int n)
    {
        // Muxado opens synchronously; Nerdbank's offer completes after a round trip, so keep a window of offers going.
        var inFlight = new Queue<Task<IBenchStream>>(OffersInFlight);
        for (int i = 0; i < n; i++)
        {
            if (inFlight.Count == OffersInFlight)
            {
                opened.Add(await inFlight.Dequeue().ConfigureAwait(false));
            }
            inFlight.Enqueue(pair.OpenAsync().AsTask());
        }
        while (inFlight.Count > 0)
        {
            opened.Add(await inFlight.Dequeue().ConfigureAwait(false));
        }
    }
}
