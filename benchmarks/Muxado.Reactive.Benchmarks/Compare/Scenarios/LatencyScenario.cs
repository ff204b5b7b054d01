using System.Diagnostics;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// latency: the round trip of 64-byte request/response streams (p50 and p99, ms), on a connection idle except for
/// them, beside one stream pushing bulk data at full speed, and beside 32 of them; the bulk rate during each loaded
/// phase; and for muxado the heartbeat's round trip, idle and beside 32 bulk streams.
/// </summary>
/// <remarks>
/// <para>One request at a time (open, write 64 bytes, half-close, read the echo to its end, close), for a fixed time per
/// phase: a request never waits for another request, only for the bulk traffic. Each phase runs on a fresh connection,
/// its bulk streams opened and accepted before the echo server starts, so a bulk stream is never taken for a request.</para>
/// <para>Raw TCP is the floor, with no head-of-line blocking at all: every bulk stream is a TCP connection of its own and
/// the requests go over one more, kept open (write 64 bytes, read 64 back). The kernel then shares the link between
/// them; a multiplexer has to do that sharing itself, inside one connection.</para>
/// <para>Muxado's streams are typed streams here (4 bytes more per request), because that is what answers heartbeats
/// at the accepting end, as in Go.</para>
/// <para>The headline figure (<see cref="Sample.Value"/>) is the p99 beside 32 bulk streams; every figure is in
/// <see cref="Sample.Figures"/> under its JSON key. The bulk rate is counted at the senders (bytes whose write completed
/// during the phase), which is within one flow-control window per stream of what the receivers read.</para>
/// </remarks>
internal sealed class LatencyScenario(Sizes sizes) : Scenario
{
    private const int RequestSize = 64;
    private const int BulkWriteSize = 64 * 1024;
    private static readonly TimeSpan BeatPause = TimeSpan.FromMilliseconds(5);

    public override string Name => "latency";
    public override string Unit => "ms";
    public override string WorkUnit => "B/request";
    public override bool HigherIsBetter => false;
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Raw, Impl.Muxado, Impl.Nerdbank];

    /// <summary>The phases: JSON key prefix and the number of bulk streams beside the requests.</summary>
    private static readonly (string Key, int BulkStreams)[] Phases = [("idle", 0), ("bulk", 1), ("bulk32", 32)];

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        var duration = warmup ? TimeSpan.FromSeconds(0.2) : sizes.LatencyPhase;
        // 32 bulk senders whose writes mostly complete at once keep 32 pool threads busy: with the pool's default minimum
        // (one per core) a request's continuation then waits for a new thread (tens of ms as the pool grows it), for every
        // implementation, raw TCP included. Threads enough for the senders, the receivers and the requests take that
        // wait out, so what is measured is the link's sharing, not the pool's growth.
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 2 * Phases.Max(p => p.BulkStreams) + 8), completionPorts);
        var figures = new Dictionary<string, double>();
        var probe = Probe.Start();
        long requests = 0;
        foreach (var (key, bulkStreams) in Phases)
        {
            var phase = impl == Impl.Raw
                ? await RunRawPhaseAsync(bulkStreams, duration).ConfigureAwait(false)
                : await RunMuxPhaseAsync(impl, bulkStreams, duration, heartbeat: bulkStreams != 1).ConfigureAwait(false);
            requests += phase.Latencies.Count;
            figures[$"{key}_p50"] = Percentile(phase.Latencies, 0.50);
            figures[$"{key}_p99"] = Percentile(phase.Latencies, 0.99);
            if (bulkStreams > 0)
            {
                figures[$"{key}_mibs"] = phase.BulkMiBPerSecond;
            }
            if (phase.Beats is { Count: > 0 } beats)
            {
                figures[$"heartbeat_{key}_p99"] = Percentile(beats, 0.99);
            }
        }
        return probe.Stop(_ => figures["bulk32_p99"], requests) with { Figures = figures };
    }

    private sealed record PhaseResult(List<double> Latencies, double BulkMiBPerSecond, List<double>? Beats);

    private static async Task<PhaseResult> RunMuxPhaseAsync(Impl impl, int bulkStreams, TimeSpan duration, bool heartbeat)
    {
        // Typed streams for muxado in every phase (the heartbeat needs them), so the phases compare like with like.
        await using var pair = await MuxPairs.ConnectAsync(impl, muxadoTyped: true).ConfigureAwait(false);
        var bulk = new List<(IBenchStream Sender, IBenchStream Receiver)>();
        for (int i = 0; i < bulkStreams; i++)
        {
            bulk.Add(await pair.OpenAndAcceptAsync().ConfigureAwait(false));
        }
        var server = new EchoServer(pair);
        var serving = server.RunAsync();
        var heart = heartbeat && pair is MuxadoPair muxado ? await muxado.StartHeartbeatAsync().ConfigureAwait(false) : null;

        var result = await MeasureAsync(
            bulk.Select(b => (b.Sender, b.Receiver)).ToList(),
            () => MuxRequestAsync(pair),
            heart is null ? null : async () => (await heart.BeatAsync().ConfigureAwait(false)).Latency.TotalMilliseconds,
            duration).ConfigureAwait(false);

        server.ThrowIfFailed();
        if (heart is not null)
        {
            await heart.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var (sender, receiver) in bulk)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
            await receiver.DisposeAsync().ConfigureAwait(false);
        }
        await pair.DisposeAsync().ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        return result;
    }

    private static async Task<PhaseResult> RunRawPhaseAsync(int bulkStreams, TimeSpan duration)
    {
        var pairs = new List<IMuxPair>();
        try
        {
            var bulk = new List<(IBenchStream Sender, IBenchStream Receiver)>();
            for (int i = 0; i < bulkStreams; i++)
            {
                var connection = await MuxPairs.ConnectAsync(Impl.Raw).ConfigureAwait(false);
                pairs.Add(connection);
                bulk.Add(await connection.OpenAndAcceptAsync().ConfigureAwait(false));
            }
            var echoConnection = await MuxPairs.ConnectAsync(Impl.Raw).ConfigureAwait(false);
            pairs.Add(echoConnection);
            var (client, server) = await echoConnection.OpenAndAcceptAsync().ConfigureAwait(false);
            var serving = Task.Run(() => EchoPersistentAsync((RawTcpPair.RawStream)server));
            var request = new byte[RequestSize];
            var response = new byte[RequestSize];
            var raw = (RawTcpPair.RawStream)client;
            var result = await MeasureAsync(bulk, async () =>
            {
                await raw.WriteAsync(request).ConfigureAwait(false);
                await raw.ReadExactlyAsync(response).ConfigureAwait(false);
            }, null, duration).ConfigureAwait(false);
            await client.CloseWriteAsync().ConfigureAwait(false);
            await serving.ConfigureAwait(false);
            return result;
        }
        finally
        {
            foreach (var pair in pairs)
            {
                await pair.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The raw floor's server: echoes fixed-size requests on one connection until its end.</summary>
    private static async Task EchoPersistentAsync(RawTcpPair.RawStream server)
    {
        var buffer = new byte[RequestSize];
        while (await server.ReadExactlyAsync(buffer).ConfigureAwait(false))
        {
            await server.WriteAsync(buffer).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts the bulk senders and receivers, then times one request after another (and, beside them, heartbeats one
    /// after another) for <paramref name="duration"/>, then stops the bulk and checks every byte sent arrived.
    /// </summary>
    private static async Task<PhaseResult> MeasureAsync(List<(IBenchStream Sender, IBenchStream Receiver)> bulk,
        Func<Task> request, Func<Task<double>>? beat, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource();
        long sentBytes = 0;
        var receiving = bulk.Select(b => Task.Run(async () => await b.Receiver.DrainAsync().ConfigureAwait(false))).ToArray();
        var sending = bulk.Select(b => Task.Run(async () =>
        {
            var block = new byte[BulkWriteSize];
            long sent = 0;
            while (!stop.IsCancellationRequested)
            {
                await b.Sender.WriteAsync(block).ConfigureAwait(false);
                sent += block.Length;
                Interlocked.Add(ref sentBytes, block.Length);
            }
            await b.Sender.CloseWriteAsync().ConfigureAwait(false);
            return sent;
        })).ToArray();

        // Let the bulk streams reach full speed (their windows full, the queues at their steady state) first.
        if (bulk.Count > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        }
        long sentAtStart = Interlocked.Read(ref sentBytes);
        var clock = Stopwatch.StartNew();
        var beats = beat is null ? null : Task.Run(async () =>
        {
            // Paced, as a heartbeat is: beats back to back would be a load of their own on the requests beside them.
            var list = new List<double>();
            while (clock.Elapsed < duration)
            {
                list.Add(await beat().ConfigureAwait(false));
                await Task.Delay(BeatPause).ConfigureAwait(false);
            }
            return list;
        });
        var latencies = new List<double>();
        while (clock.Elapsed < duration)
        {
            long start = Stopwatch.GetTimestamp();
            await request().ConfigureAwait(false);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double mibs = (Interlocked.Read(ref sentBytes) - sentAtStart) / MiB / seconds;
        var beatList = beats is null ? null : await beats.ConfigureAwait(false);

        stop.Cancel();
        long[] sent = await Task.WhenAll(sending).ConfigureAwait(false);
        long[] received = await Task.WhenAll(receiving).ConfigureAwait(false);
        Check.Equal(sent.Sum(), received.Sum(), "bulk bytes received");
        return new PhaseResult(latencies, mibs, beatList);
    }

    private static async Task MuxRequestAsync(IMuxPair pair)
    {
        var request = new byte[RequestSize];
        var response = new byte[RequestSize + 1];
        var stream = await pair.OpenAsync().ConfigureAwait(false);
        await stream.WriteAsync(request).ConfigureAwait(false);
        await stream.CloseWriteAsync().ConfigureAwait(false);
        int received = await stream.ReadToEndAsync(response).ConfigureAwait(false);
        Check.Equal(RequestSize, received, "echoed bytes");
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The value below which <paramref name="quantile"/> of the samples lie (nearest rank).</summary>
    private static double Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
