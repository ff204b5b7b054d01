using BenchmarkDotNet.Attributes;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>
/// End-to-end workloads of the compare command under BenchmarkDotNet, so that its diagnosers can look inside them:
/// <c>--filter *Loopback* --job short --profiler EP</c> gives a CPU sampling trace (speedscope) per case.
/// One connection is kept for all invocations; each invocation moves 16 MiB (bulk) or completes one stream (rr).
/// </summary>
[MemoryDiagnoser]
public class LoopbackBenchmarks
{
    private const int BulkBytes = 16 << 20;
    private readonly byte[] _block = new byte[64 * 1024];
    private readonly byte[] _request = new byte[64];
    private readonly byte[] _response = new byte[65];
    private IMuxPair _pair = null!;
    private Task _serving = Task.CompletedTask;

    public enum Target
    {
        Raw,
        Muxado,
        Nerdbank,
    }

    [Params(Target.Muxado, Target.Nerdbank)]
    public Target Implementation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pair = MuxPairs.ConnectAsync((Impl)Implementation).GetAwaiter().GetResult();
        _serving = ServeAsync(_pair);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pair.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serving.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
    }

    /// <summary>A fresh stream carries 16 MiB in 64 KiB writes to the server, which drains it.</summary>
    [Benchmark]
    public async Task Bulk16MiB()
    {
        var stream = await _pair.OpenAsync().ConfigureAwait(false);
        for (int sent = 0; sent < BulkBytes; sent += _block.Length)
        {
            await stream.WriteAsync(_block).ConfigureAwait(false);
        }
        await stream.CloseWriteAsync().ConfigureAwait(false);
        // The server answers with an empty stream end once it has drained everything.
        await stream.ReadToEndAsync(_response).ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One request/response stream: 64 bytes echoed.</summary>
    [Benchmark]
    public async Task RequestResponse()
    {
        var stream = await _pair.OpenAsync().ConfigureAwait(false);
        await stream.WriteAsync(_request).ConfigureAwait(false);
        await stream.CloseWriteAsync().ConfigureAwait(false);
        await stream.ReadToEndAsync(_response).ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Drains each stream; answers a short one (a request) with as many bytes, a long one (bulk) with none.</summary>
    private static async Task ServeAsync(IMuxPair pair)
    {
        var answer = new byte[64];
        try
        {
            while (true)
            {
                var stream = await pair.AcceptAsync().ConfigureAwait(false);
                _ = Task.Run(async () =>
                {
                    long received = await stream.DrainAsync().ConfigureAwait(false);
                    if (received <= answer.Length)
                    {
                        await stream.WriteAsync(answer.AsMemory(0, (int)received)).ConfigureAwait(false);
                    }
                    await stream.DisposeAsync().ConfigureAwait(false);
                });
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The pair was closed at cleanup.
        }
    }
}
