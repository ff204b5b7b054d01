using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>bulk: one stream carries <see cref="Sizes.BulkBytes"/> one way in 64 KiB writes (MiB/s).</summary>
/// <remarks>
/// The stream is opened and accepted before the clock starts; the clock stops when the receiver has read the
/// last byte and the end of stream, so the figure is end-to-end goodput, not how fast the sender could queue.
/// </remarks>
internal sealed class BulkScenario(Sizes sizes) : Scenario
{
    public override string Name => "bulk";
    public override string Unit => "MiB/s";
    public override string WorkUnit => "B/MiB";
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Raw, Impl.Muxado, Impl.Nerdbank];

    // Each run takes 0.1-0.5 s and single runs of every implementation range over a factor of 3 here.
    public override int RepetitionFactor => 3;

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        long total = warmup ? sizes.BulkWarmupBytes : sizes.BulkBytes;
        var block = new byte[sizes.BulkWriteSize];
        Random.Shared.NextBytes(block);
        await using var pair = await MuxPairs.ConnectAsync(impl).ConfigureAwait(false);
        var (sender, receiver) = await pair.OpenAndAcceptAsync().ConfigureAwait(false);

        var probe = Probe.Start();
        var receiving = Task.Run(async () => await receiver.DrainAsync().ConfigureAwait(false));
        for (long sent = 0; sent < total; sent += block.Length)
        {
            await sender.WriteAsync(block).ConfigureAwait(false);
        }
        await sender.CloseWriteAsync().ConfigureAwait(false);
        long received = await receiving.ConfigureAwait(false);
        var sample = probe.Stop(seconds => total / MiB / seconds, total / MiB);

        Check.Equal(total, received, "bytes received");
        await sender.DisposeAsync().ConfigureAwait(false);
        await receiver.DisposeAsync().ConfigureAwait(false);
        return sample;
    }
}
