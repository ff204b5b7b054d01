using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>
/// A transport that counts the frames a session writes, by kind, and otherwise forwards everything to the real one
/// (including its write-queue size and back-pressure), so a diagnostic run behaves like a normal one. Enabled by
/// <c>MUXADO_BENCH_COUNT_FRAMES=1</c>; the counts are process-wide (both ends of the pair) and reported per run.
/// </summary>
internal sealed class CountingTransport(FrameTransport inner) : FrameTransport
{
    /// <summary>The kinds counted, in report order (declared before <see cref="Counts"/>, which is sized from it).</summary>
    public static readonly string[] Kinds = ["DATA with payload", "DATA empty (SYN/FIN only)", "WNDINC", "RST", "other"];

    private static readonly long[] Counts = new long[Kinds.Length];
    private readonly CountingObserver _outbound = new(inner.Outbound);

    public override IObservable<Frame> Inbound => inner.Inbound;
    public override IObserver<Frame> Outbound => _outbound;
    public override long PendingWriteBytes => inner.PendingWriteBytes;

    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
        inner.WaitForWriteSpaceAsync(threshold, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The counts since the last call, and starts counting from zero.</summary>
    public static Dictionary<string, long> TakeCounts()
    {
        var snapshot = new Dictionary<string, long>();
        for (int i = 0; i < Kinds.Length; i++)
        {
            snapshot[Kinds[i]] = Interlocked.Exchange(ref Counts[i], 0);
        }
        return snapshot;
    }

    private sealed class CountingObserver(IObserver<Frame> inner) : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
            int kind = value.Type switch
            {
                FrameType.Data => value.Length > 0 ? 0 : 1,
                FrameType.WndInc => 2,
                FrameType.Rst => 3,
                _ => 4,
            };
            Interlocked.Increment(ref Counts[kind]);
            inner.OnNext(value);
        }

        public void OnCompleted() => inner.OnCompleted();

        public void OnError(Exception error) => inner.OnError(error);
    }
}
