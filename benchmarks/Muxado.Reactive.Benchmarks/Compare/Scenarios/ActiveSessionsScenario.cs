using System.Diagnostics;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// sessions1k_rr: 1,000 sessions, each over its own loopback connection with both ends in this process, each doing rr1
/// (one request stream after another: open, 64 bytes, half-close, read the echo, close) for a fixed time; the figure is
/// the completed streams per second of all of them together.
/// </summary>
/// <remarks>Each session's server end accepts and echoes as in rr (<see cref="EchoServer"/>). The connections are made
/// and the sessions started before the clock starts.</remarks>
internal sealed class ActiveSessionsScenario(Sizes sizes) : Scenario
{
    private const int Sessions = 1_000;

    public override string Name => "sessions1k_rr";
    public override string Unit => "streams/s";
    public override string WorkUnit => "B/stream";
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Muxado, Impl.Nerdbank];

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        int sessions = warmup ? 50 : Sessions;
        var duration = warmup ? sizes.RrWarmup : sizes.RrDuration;
        var pairs = new IMuxPair[sessions];
        for (int i = 0; i < sessions; i++)
        {
            pairs[i] = await MuxPairs.ConnectAsync(impl).ConfigureAwait(false);
        }
        var servers = pairs.Select(p => new EchoServer(p)).ToArray();
        var serving = servers.Select(s => s.RunAsync()).ToArray();
        var request = new byte[sizes.RrMessageSize];
        Random.Shared.NextBytes(request);

        var probe = Probe.Start();
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long[] counts = await Task.WhenAll(pairs.Select(p => Task.Run(() => RequestResponseScenario.ClientAsync(p, request, deadline)))).ConfigureAwait(false);
        long completed = counts.Sum();
        var sample = probe.Stop(seconds => completed / seconds, completed);

        foreach (var server in servers)
        {
            server.ThrowIfFailed();
        }
        await Task.WhenAll(pairs.Select(p => p.DisposeAsync().AsTask())).ConfigureAwait(false);
        await Task.WhenAll(serving).ConfigureAwait(false);
        return sample;
    }
}
