using System.Buffers;
using System.Diagnostics;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// rr1 / rr16 / rr256: each request is a new stream: open, write 64 bytes, half-close, read the echo to its end,
/// close. <c>workers</c> clients do that in a loop at once for a fixed time; the figure is completed streams/s.
/// </summary>
/// <remarks>
/// <para>No raw-TCP column: the raw equivalent of "a stream per request" is a connection per request, which would
/// measure the kernel's connect and TIME_WAIT handling rather than anything comparable.</para>
/// <para>The server accepts in one loop and serves each stream on its own task (read to end, echo, close), as a
/// real server would. Every echo is checked for length.</para>
/// </remarks>
internal sealed class RequestResponseScenario(Sizes sizes, int workers) : Scenario
{
    public override string Name => $"rr{workers}";
    public override string Unit => "streams/s";
    public override string WorkUnit => "B/stream";
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Muxado, Impl.Nerdbank];

    /// <summary>
    /// Muxado refuses streams beyond its accept backlog (default 128, as Go) with RST AcceptQueueFull, and 256
    /// workers can have 256 SYNs in flight before the accept loop runs; Nerdbank queues offers without a bound.
    /// The backlog is therefore raised to cover the workers, and nothing else is changed from the defaults.
    /// </summary>
    private MuxSessionOptions MuxadoOptions => new() { AcceptBacklog = Math.Max(128, 2 * workers) };

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        var duration = warmup ? sizes.RrWarmup : sizes.RrDuration;
        var request = new byte[sizes.RrMessageSize];
        Random.Shared.NextBytes(request);
        var pair = await MuxPairs.ConnectAsync(impl, MuxadoOptions).ConfigureAwait(false);
        var server = new EchoServer(pair);
        var serving = server.RunAsync();

        var probe = Probe.Start();
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var clients = new Task<long>[workers];
        for (int i = 0; i < workers; i++)
        {
            clients[i] = Task.Run(() => ClientAsync(pair, request, deadline));
        }
        long[] counts = await Task.WhenAll(clients).ConfigureAwait(false);
        long completed = counts.Sum();
        var sample = probe.Stop(seconds => completed / seconds, completed);

        server.ThrowIfFailed();
        await pair.DisposeAsync().ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        return sample;
    }

    /// <summary>One client: request streams one after another until <paramref name="deadline"/>; returns how many completed.</summary>
    public static async Task<long> ClientAsync(IMuxPair pair, byte[] request, long deadline)
    {
        // One byte more than the request, so that an echo that is too long shows as a wrong count, not a silent cut.
        var response = new byte[request.Length + 1];
        long completed = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var stream = await pair.OpenAsync().ConfigureAwait(false);
            await stream.WriteAsync(request).ConfigureAwait(false);
            await stream.CloseWriteAsync().ConfigureAwait(false);
            int received = await stream.ReadToEndAsync(response).ConfigureAwait(false);
            Check.Equal(request.Length, received, "echoed bytes");
            await stream.DisposeAsync().ConfigureAwait(false);
            completed++;
        }
        return completed;
    }
}
