using System.Globalization;
using System.Text;
using Muxado.Reactive.Benchmarks.Compare.Adapters;
using Muxado.Reactive.Benchmarks.Compare.Scenarios;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>The tables printed at the end of a run (Markdown, so that they paste into RESULTS.md as they are).</summary>
internal static class Report
{
    private static readonly Impl[] Columns = [Impl.Raw, Impl.Muxado, Impl.Nerdbank];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Other processes' CPU share above which a run is flagged as disturbed.</summary>
    public const double ForeignLoadWarning = 0.10;

    public static string Render(IReadOnlyList<ScenarioResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("Medians of the measured repetitions, (min–max) below; ratios are of medians.");
        text.AppendLine();
        text.AppendLine("| scenario | unit | raw | muxado | nerdbank | muxado/raw | muxado/nerdbank |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            text.Append(Inv, $"| {r.Scenario.Name} | {r.Scenario.Unit} ");
            foreach (var impl in Columns)
            {
                text.Append("| ").Append(Cell(r, impl)).Append(' ');
            }
            text.Append("| ").Append(RatioCell(r.Ratio(Impl.Muxado, Impl.Raw)));
            text.Append(" | ").Append(RatioCell(r.Ratio(Impl.Muxado, Impl.Nerdbank))).AppendLine(" |");
        }

        text.AppendLine();
        text.AppendLine("Peak working set of each worker process (MiB; one process per implementation × scenario, both ends inside it,");
        text.AppendLine("warm-up included) and bytes allocated per unit of work (median of the measured repetitions, all threads):");
        text.AppendLine();
        text.AppendLine("| scenario | peak raw | peak muxado | peak nerdbank | muxado/nerdbank | alloc raw | alloc muxado | alloc nerdbank | alloc unit |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            text.Append(Inv, $"| {r.Scenario.Name} ");
            foreach (var impl in Columns)
            {
                text.Append("| ").Append(r.PeakMiB(impl) is { } peak ? peak.ToString("N0", Inv) : "–").Append(' ');
            }
            var peakRatio = r.PeakMiB(Impl.Muxado) / r.PeakMiB(Impl.Nerdbank);
            text.Append("| ").Append(RatioCell(peakRatio)).Append(' ');
            foreach (var impl in Columns)
            {
                text.Append("| ").Append(r.StatsOf(impl) is { } s ? Number(s.AllocatedPerWork) : "–").Append(' ');
            }
            text.Append(Inv, $"| {r.Scenario.WorkUnit} |").AppendLine();
        }

        text.AppendLine();
        text.AppendLine("CPU time of each worker process per unit of work (ms, median; user / system — system is time in the kernel,");
        text.AppendLine("i.e. system calls; the whole run is counted, connection set-up included; clock-tick resolution 10 ms):");
        text.AppendLine();
        text.AppendLine("| scenario | per | raw user / sys | muxado user / sys | nerdbank user / sys |");
        text.AppendLine("|---|---|---:|---:|---:|");
        foreach (var r in results)
        {
            text.Append(Inv, $"| {r.Scenario.Name} | {r.Scenario.WorkUnit[2..]} ");
            foreach (var impl in Columns)
            {
                text.Append("| ").Append(r.MedianCpuMsPerWork(impl) is { } cpu
                    ? string.Create(Inv, $"{cpu.User:0.###} / {cpu.System:0.###}") : "–").Append(' ');
            }
            text.AppendLine("|");
        }

        foreach (var r in results.Where(r => r.Scenario.Impls.Any(impl => r.FigureMedians(impl).Count > 0)))
        {
            text.AppendLine();
            text.AppendLine(Inv, $"{r.Scenario.Name} figures (medians of the repetitions; ms, bulk rates in MiB/s):");
            text.AppendLine();
            text.AppendLine("| figure | raw | muxado | nerdbank |");
            text.AppendLine("|---|---:|---:|---:|");
            var keys = Columns.SelectMany(impl => r.FigureMedians(impl).Keys).Distinct().Order(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                text.Append(Inv, $"| {key} ");
                foreach (var impl in Columns)
                {
                    text.Append("| ").Append(r.FigureMedians(impl).TryGetValue(key, out double v) ? Number(v) : "–").Append(' ');
                }
                text.AppendLine("|");
            }
        }

        var disturbed = results.Where(r => r.MaxForeignLoad >= ForeignLoadWarning).ToList();
        text.AppendLine();
        if (disturbed.Count == 0)
        {
            text.AppendLine(Inv, $"Other processes used under {ForeignLoadWarning:P0} of the CPU during every measured run.");
        }
        else
        {
            var which = string.Join(", ", disturbed.Select(r => string.Create(Inv,
                $"{r.Scenario.Name} (max {r.MaxForeignLoad:P0}, {r.ForeignLoads.Count(l => l >= ForeignLoadWarning)} of {r.ForeignLoads.Count} runs)")));
            text.AppendLine(Inv, $"DISTURBED: other processes used ≥ {ForeignLoadWarning:P0} of the CPU during some runs of: {which}. Their figures are less trustworthy.");
        }

        var failures = results.SelectMany(r => r.Errors.Select(e => $"{r.Scenario.Name}/{e.Key.Name()}: {e.Value}")).ToList();
        if (failures.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Failures:");
            foreach (var failure in failures)
            {
                text.AppendLine("- " + failure);
            }
        }
        return text.ToString();
    }

    public static string RenderTargets(IReadOnlyList<ScenarioResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| target | measured | met |");
        text.AppendLine("|---|---:|---|");
        void Row(string target, string measured, bool? met) =>
            text.AppendLine(Inv, $"| {target} | {measured} | {(met is null ? "not run" : met.Value ? "yes" : "**no**")} |");
        ScenarioResult? Find(string name) => results.FirstOrDefault(r => r.Scenario.Name == name);

        if (Find("bulk") is { } bulk)
        {
            var ratio = bulk.Ratio(Impl.Muxado, Impl.Raw);
            Row("bulk ≥ 0.85 × raw TCP", RatioCell(ratio), ratio >= 0.85);
            var muxCpu = bulk.MedianCpuMsPerWork(Impl.Muxado);
            var rawCpu = bulk.MedianCpuMsPerWork(Impl.Raw);
            double? mux = muxCpu is { } m ? m.User + m.System : null;
            double? raw = rawCpu is { } r ? r.User + r.System : null;
            Row("bulk: CPU per MiB ≤ 1.15 × raw TCP's",
                mux is not null && raw is not null ? string.Create(Inv, $"{mux:0.###} vs {raw:0.###} ms ({mux / raw:0.00})") : "–",
                mux is not null && raw is not null ? mux <= 1.15 * raw : null);
        }
        foreach (var name in new[] { "rr1", "rr16", "rr256" })
        {
            if (Find(name) is { } rr)
            {
                var ratio = rr.Ratio(Impl.Muxado, Impl.Nerdbank);
                Row($"{name} ≥ 2 × Nerdbank", RatioCell(ratio), ratio >= 2);
            }
        }
        if (Find("fanout") is { } fanout)
        {
            var ratio = fanout.Ratio(Impl.Muxado, Impl.Raw);
            Row("fanout ≥ 0.5 × raw TCP", RatioCell(ratio), ratio >= 0.5);
            var versusNerdbank = fanout.Ratio(Impl.Muxado, Impl.Nerdbank);
            Row("fanout ≥ 1.5 × Nerdbank", RatioCell(versusNerdbank), versusNerdbank >= 1.5);
        }
        if (Find("sessions10k") is { } sessions)
        {
            var mux = sessions.StatsOf(Impl.Muxado)?.Median;
            var nb = sessions.StatsOf(Impl.Nerdbank)?.Median;
            Row("sessions10k: idle session < 8 KiB per end", mux is { } b ? $"{b.ToString("N0", Inv)} B" : "–", mux < 8192);
            Row("sessions10k: idle session below Nerdbank's",
                mux is not null && nb is not null ? $"{mux.Value.ToString("N0", Inv)} vs {nb.Value.ToString("N0", Inv)} B" : "–",
                mux is not null && nb is not null ? mux < nb : null);
        }
        if (Find("latency") is { } latency)
        {
            var mux = latency.FigureMedians(Impl.Muxado);
            var nb = latency.FigureMedians(Impl.Nerdbank);
            foreach (var phase in new[] { "bulk", "bulk32" })
            {
                double? p99 = mux.TryGetValue($"{phase}_p99", out double a) ? a : null;
                double? idleP99 = mux.TryGetValue("idle_p99", out double b) ? b : null;
                double? nbP99 = nb.TryGetValue($"{phase}_p99", out double c) ? c : null;
                Row($"latency: p99 beside {(phase == "bulk" ? "1 bulk stream" : "32 bulk streams")} ≤ 4 × idle p99",
                    p99 is not null && idleP99 is not null ? string.Create(Inv, $"{p99:0.##} vs 4 × {idleP99:0.##} ms") : "–",
                    p99 is not null && idleP99 is not null ? p99 <= 4 * idleP99 : null);
                Row($"latency: p99 beside {(phase == "bulk" ? "1 bulk stream" : "32 bulk streams")} < Nerdbank's",
                    p99 is not null && nbP99 is not null ? string.Create(Inv, $"{p99:0.##} vs {nbP99:0.##} ms") : "–",
                    p99 is not null && nbP99 is not null ? p99 < nbP99 : null);
            }
        }
        foreach (var idle in results.Where(r => r.Scenario is IdleScenario))
        {
            var perStream = idle.StatsOf(Impl.Muxado)?.Median;
            Row($"{idle.Scenario.Name}: idle stream < 2 KiB (both ends counted)",
                perStream is { } b ? $"{b.ToString("N0", Inv)} B (one end ≈ {(b / 2).ToString("N0", Inv)} B)" : "–",
                perStream < 2048);
        }
        foreach (var r in results.Where(r => r.Scenario.Impls.Contains(Impl.Nerdbank)))
        {
            var mux = r.PeakMiB(Impl.Muxado);
            var nb = r.PeakMiB(Impl.Nerdbank);
            Row($"{r.Scenario.Name}: peak memory ≤ Nerdbank's",
                mux is not null && nb is not null ? $"{mux.Value.ToString("N0", Inv)} vs {nb.Value.ToString("N0", Inv)} MiB" : "–",
                mux <= nb);
        }
        return text.ToString();
    }

    /// <summary>Muxado frames written (both ends) per unit of work, median over runs (MUXADO_BENCH_COUNT_FRAMES=1).</summary>
    public static string RenderFrameCounts(IReadOnlyList<ScenarioResult> results)
    {
        var kinds = Adapters.CountingTransport.Kinds;
        var text = new StringBuilder();
        text.AppendLine("Muxado frames written by both ends per unit of work (median of the measured runs):");
        text.AppendLine();
        text.AppendLine("| scenario | per | " + string.Join(" | ", kinds) + " |");
        text.AppendLine("|---|---|" + string.Concat(kinds.Select(_ => "---:|")));
        foreach (var r in results.Where(r => r.MuxadoFramesPerWork.Count > 0))
        {
            text.Append(Inv, $"| {r.Scenario.Name} | {r.Scenario.WorkUnit[2..]} ");
            foreach (var kind in kinds)
            {
                var values = r.MuxadoFramesPerWork.Select(f => f.GetValueOrDefault(kind)).Order().ToArray();
                text.Append("| ").Append(Number(values[values.Length / 2])).Append(' ');
            }
            text.AppendLine("|");
        }
        return text.ToString();
    }

    /// <summary>The sampled allocation breakdown of each worker (with <c>--alloc-profile</c>).</summary>
    public static string RenderAllocations(IReadOnlyList<ScenarioResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("Allocated bytes by type (GCAllocationTick samples, ~1 per 100 KB, measured repetitions only):");
        foreach (var r in results)
        {
            foreach (var (impl, shares) in r.Allocations)
            {
                text.AppendLine();
                text.AppendLine(Inv, $"{r.Scenario.Name} / {impl.Name()}:");
                foreach (var share in shares)
                {
                    text.AppendLine(Inv, $"  {share.Share,6:P1}  {share.Type}");
                }
            }
        }
        return text.ToString();
    }

    private static string Cell(ScenarioResult r, Impl impl)
    {
        if (!r.Scenario.Impls.Contains(impl))
        {
            return "–";
        }
        if (r.StatsOf(impl) is not { } s)
        {
            return r.Errors.ContainsKey(impl) ? "failed" : "–";
        }
        return $"{Number(s.Median)} ({Number(s.Min)}–{Number(s.Max)})";
    }

    public static string Number(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("N0", Inv) : value.ToString("0.##", Inv);

    private static string RatioCell(double? ratio) => ratio is { } r ? r.ToString("0.00", Inv) : "–";
}
