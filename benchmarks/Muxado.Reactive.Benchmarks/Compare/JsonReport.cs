using System.Text.Encodings.Web;
using System.Text.Json;
using Muxado.Reactive.Benchmarks.Compare.Adapters;
using Muxado.Reactive.Benchmarks.Compare.Scenarios;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// Writes the machine-readable summary: <c>scenarios</c> holds the medians in the agreed shape, one number per
/// implementation that ran; the extra top-level sections (ranges, peak memory, allocations) never change it.
/// </summary>
internal static class JsonReport
{
    public static void Write(string path, IReadOnlyList<ScenarioResult> results, string machine, bool quick, int repetitions)
    {
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("machine", machine);
        json.WriteBoolean("quick", quick);
        json.WriteNumber("repetitions", repetitions);
        json.WriteStartObject("repetitions_per_scenario");
        foreach (var r in results)
        {
            json.WriteNumber(r.Scenario.Name, r.Scenario.RepetitionsFor(repetitions));
        }
        json.WriteEndObject();

        json.WriteStartObject("scenarios");
        foreach (var r in results)
        {
            WriteMedians(json, r.Scenario.Name, r);
        }
        // "idle" is the largest idle scenario of the run: 100,000 streams in a full run, 10,000 in a quick one.
        if (results.Where(r => r.Scenario is IdleScenario).MaxBy(r => ((IdleScenario)r.Scenario).Streams) is { } idle)
        {
            WriteMedians(json, "idle", idle);
        }
        json.WriteEndObject();

        WritePerImpl(json, "min", results, (r, impl) => r.StatsOf(impl)?.Min);
        WritePerImpl(json, "max", results, (r, impl) => r.StatsOf(impl)?.Max);
        WritePerImpl(json, "peak_working_set_mib", results, (r, impl) => r.PeakMiB(impl));
        WritePerImpl(json, "allocated_bytes_per_work_unit", results, (r, impl) => r.StatsOf(impl)?.AllocatedPerWork);

        WritePerImpl(json, "cpu_user_ms_per_work_unit", results, (r, impl) => r.MedianCpuMsPerWork(impl)?.User);
        WritePerImpl(json, "cpu_system_ms_per_work_unit", results, (r, impl) => r.MedianCpuMsPerWork(impl)?.System);

        json.WriteStartObject("max_foreign_cpu_load");
        foreach (var r in results)
        {
            if (r.MaxForeignLoad is { } load)
            {
                json.WriteNumber(r.Scenario.Name, Math.Round(load, 3));
            }
        }
        json.WriteEndObject();

        json.WriteStartObject("errors");
        foreach (var r in results)
        {
            foreach (var (impl, error) in r.Errors)
            {
                json.WriteString($"{r.Scenario.Name}/{impl.Name()}", error);
            }
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteMedians(Utf8JsonWriter json, string name, ScenarioResult r)
    {
        json.WriteStartObject(name);
        json.WriteString("unit", r.Scenario.Unit);
        foreach (var impl in r.Scenario.Impls)
        {
            var figures = r.FigureMedians(impl);
            if (figures.Count > 0)
            {
                // A scenario of several figures (latency): one object per implementation, the median of each figure.
                json.WriteStartObject(impl.Name());
                foreach (var (key, value) in figures.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    json.WriteNumber(key, Math.Round(value, 3));
                }
                json.WriteEndObject();
            }
            else if (r.StatsOf(impl) is { } stats)
            {
                json.WriteNumber(impl.Name(), Math.Round(stats.Median, 1));
            }
        }
        json.WriteEndObject();
    }

    private static void WritePerImpl(Utf8JsonWriter json, string section, IReadOnlyList<ScenarioResult> results, Func<ScenarioResult, Impl, double?> value)
    {
        json.WriteStartObject(section);
        foreach (var r in results)
        {
            json.WriteStartObject(r.Scenario.Name);
            foreach (var impl in r.Scenario.Impls)
            {
                if (value(r, impl) is { } v)
                {
                    json.WriteNumber(impl.Name(), Math.Round(v, 4));
                }
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }
}
