using Muxado.Reactive.Benchmarks.Compare.Adapters;
using Muxado.Reactive.Benchmarks.Compare.Scenarios;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>Everything measured for one scenario: the samples, peak memory and failures of each implementation.</summary>
internal sealed class ScenarioResult(Scenario scenario)
{
    public Scenario Scenario { get; } = scenario;
    public Dictionary<Impl, List<Sample>> Samples { get; } = [];
    public Dictionary<Impl, long> PeakWorkingSetBytes { get; } = [];
    public Dictionary<Impl, string> Errors { get; } = [];
    public Dictionary<Impl, IReadOnlyList<TypeShare>> Allocations { get; } = [];

    /// <summary>Other processes' share of the CPU during each measured run (see <see cref="ForeignLoad"/>).</summary>
    public List<double> ForeignLoads { get; } = [];

    /// <summary>Muxado frames written per unit of work, by kind, per measured run (with MUXADO_BENCH_COUNT_FRAMES=1).</summary>
    public List<Dictionary<string, double>> MuxadoFramesPerWork { get; } = [];

    /// <summary>Each implementation's own CPU seconds (user, system) per unit of work, one entry per measured run.</summary>
    public Dictionary<Impl, List<(double User, double System)>> CpuPerWork { get; } = [];

    /// <summary>Median user and system CPU milliseconds per unit of work.</summary>
    public (double User, double System)? MedianCpuMsPerWork(Impl impl)
    {
        if (!CpuPerWork.TryGetValue(impl, out var runs) || runs.Count == 0)
        {
            return null;
        }
        var user = runs.Select(r => r.User).Order().ToArray();
        var system = runs.Select(r => r.System).Order().ToArray();
        return (user[user.Length / 2] * 1000, system[system.Length / 2] * 1000);
    }

    public double? MaxForeignLoad => ForeignLoads.Count > 0 ? ForeignLoads.Max() : null;

    public Stats? StatsOf(Impl impl) =>
        Samples.TryGetValue(impl, out var samples) && samples.Count > 0 ? Stats.From(samples) : null;

    /// <summary>Median of <paramref name="numerator"/> over median of <paramref name="denominator"/>, when both ran.</summary>
    public double? Ratio(Impl numerator, Impl denominator) =>
        StatsOf(numerator) is { } n && StatsOf(denominator) is { } d && d.Median > 0 ? n.Median / d.Median : null;

    /// <summary>Median of each of the samples' <see cref="Sample.Figures"/>, by key; empty for a one-figure scenario.</summary>
    public IReadOnlyDictionary<string, double> FigureMedians(Impl impl)
    {
        if (!Samples.TryGetValue(impl, out var samples))
        {
            return new Dictionary<string, double>();
        }
        return samples.Where(s => s.Figures is not null).SelectMany(s => s.Figures!)
            .GroupBy(f => f.Key)
            .ToDictionary(g => g.Key, g => Stats.MedianOf(g.Select(f => f.Value)));
    }

    public double? PeakMiB(Impl impl) =>
        PeakWorkingSetBytes.TryGetValue(impl, out long peak) ? peak / Scenario.MiB : null;
}

/// <summary>Summary of the measured repetitions of one implementation in one scenario.</summary>
internal sealed record Stats(double Median, double Min, double Max, double AllocatedPerWork, double MedianSeconds, int Count)
{
    public static Stats From(IReadOnlyList<Sample> samples) => new(
        MedianOf(samples.Select(s => s.Value)),
        samples.Min(s => s.Value),
        samples.Max(s => s.Value),
        MedianOf(samples.Select(s => s.Work > 0 ? s.AllocatedBytes / s.Work : 0)),
        MedianOf(samples.Select(s => s.Seconds)),
        samples.Count);

    public static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
