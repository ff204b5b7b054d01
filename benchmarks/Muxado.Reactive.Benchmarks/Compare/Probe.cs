using System.Diagnostics;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>What one measured run did: its figure, its time, and what it cost the garbage collector.</summary>
/// <param name="Value">The scenario's figure in its unit (MiB/s, streams/s, bytes/stream).</param>
/// <param name="Seconds">Wall time of the measured part.</param>
/// <param name="Work">Units of work done (MiB moved, streams completed, streams held), to divide the allocations by.</param>
/// <param name="AllocatedBytes">Bytes allocated by all threads during the measured part.</param>
/// <param name="Figures">A scenario with more than one figure (latency: p50 and p99 per phase) puts them all here, by their
/// JSON key; <paramref name="Value"/> is then its headline figure.</param>
internal sealed record Sample(double Value, double Seconds, double Work, long AllocatedBytes, int Gen0, int Gen1, int Gen2,
    Dictionary<string, double>? Figures = null);

/// <summary>Wall clock, allocation counter and collection counts around a measured section.</summary>
/// <remarks>
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> with precise=true counts every thread's allocations, so the
/// server end, the client end and the library's own threads are all in the figure.
/// </remarks>
internal readonly struct Probe
{
    private readonly long _start;
    private readonly long _allocated;
    private readonly int _gen0;
    private readonly int _gen1;
    private readonly int _gen2;

    private Probe(long start, long allocated, int gen0, int gen1, int gen2)
    {
        _start = start;
        _allocated = allocated;
        _gen0 = gen0;
        _gen1 = gen1;
        _gen2 = gen2;
    }

    public static Probe Start()
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        return new Probe(Stopwatch.GetTimestamp(), allocated, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    public double ElapsedSeconds => Stopwatch.GetElapsedTime(_start).TotalSeconds;

    /// <summary>Ends the section; <paramref name="value"/> is computed by the caller from the time and the work.</summary>
    public Sample Stop(Func<double, double> value, double work)
    {
        double seconds = ElapsedSeconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
        return new Sample(value(seconds), seconds, work, allocated,
            GC.CollectionCount(0) - _gen0, GC.CollectionCount(1) - _gen1, GC.CollectionCount(2) - _gen2);
    }
}
