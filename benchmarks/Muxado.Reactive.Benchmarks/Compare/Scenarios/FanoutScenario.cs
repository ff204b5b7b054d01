using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// fanout: 64 streams each push 1 MiB in 1 KiB writes, all at once, over one connection (aggregate MiB/s).
/// </summary>
/// <remarks>
/// <para>Raw TCP is one connection pushing the same 64 MiB in the same 1 KiB writes from one writer: the same
/// bytes, the same write size, the same single connection, without multiplexing. (64 TCP connections would
/// measure the kernel's scheduling of 64 sockets, not what a multiplexer costs over one connection.) Each raw
/// 1 KiB write is a system call, while a multiplexer may coalesce; that is part of what is being compared.</para>
/// <para>Streams are opened and accepted before the clock starts, so the figure is transfer only (Nerdbank's
/// offer/accept round trip is not counted against it). The clock stops when every receiver has read its end.</para>
/// </remarks>
internal sealed class FanoutScenario(Sizes sizes) : Scenario
{
    public override string Name => "fanout";
    public override string Unit => "MiB/s";
    public override string WorkUnit => "B/MiB";
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Raw, Impl.Muxado, Impl.Nerdbank];

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        int perStream = warmup ? sizes.FanoutWarmupBytesPerStream : sizes.FanoutBytesPerStream;
        await using var pair = await MuxPairs.ConnectAsync(impl).ConfigureAwait(false);
        int streams = pair.Multiplexes ? sizes.FanoutStreams : 1;
        long bytesPerStream = (long)perStream * sizes.FanoutStreams / streams;
        long total = bytesPerStream * streams;

        var accepting = Task.Run(async () =>
        {
            var accepted = new IBenchStream[streams];
            for (int i = 0; i < streams; i++)
            {
                accepted[i] = await pair.AcceptAsync().ConfigureAwait(false);
            }
            return accepted;
        });
        var senders = new IBenchStream[streams];
        for (int i = 0; i < streams; i++)
        {
            senders[i] = await pair.OpenAsync().ConfigureAwait(false);
        }
        var receivers = await accepting.ConfigureAwait(false);

        var probe = Probe.Start();
        var receiving = receivers.Select(r => Task.Run(async () => await r.DrainAsync().ConfigureAwait(false))).ToArray();
        var sending = senders.Select(s => Task.Run(() => PushAsync(s, bytesPerStream, sizes.FanoutWriteSize))).ToArray();
        await Task.WhenAll(sending).ConfigureAwait(false);
        long[] received = await Task.WhenAll(receiving).ConfigureAwait(false);
        var sample = probe.Stop(seconds => total / MiB / seconds, total / MiB);

        Check.Equal(total, received.Sum(), "bytes received");
        foreach (var stream in senders.Concat(receivers))
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        return sample;
    }

    private static async Task PushAsync(IBenchStream stream, long bytes, int writeSize)
    {
        var block = new byte[writeSize];
        Random.Shared.NextBytes(block);
        for (long sent = 0; sent < bytes; sent += writeSize)
        {
            await stream.WriteAsync(block).ConfigureAwait(false);
        }
        await stream.CloseWriteAsync().ConfigureAwait(false);
    }
}
