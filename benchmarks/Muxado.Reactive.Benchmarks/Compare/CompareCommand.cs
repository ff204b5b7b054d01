using System.Diagnostics;
using System.Globalization;
using Muxado.Reactive.Benchmarks.Compare.Adapters;
using Muxado.Reactive.Benchmarks.Compare.Scenarios;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// <c>compare [--quick] [--json PATH] [--reps N] [--only a,b] [--alloc-profile] [--wait-quiet]</c>: runs every scenario against raw TCP, muxado and
/// Nerdbank.Streams and prints the medians, ranges, ratios, peak memory and the targets.
/// </summary>
/// <remarks>
/// The coordinator itself measures nothing: per scenario it starts one worker process per implementation, warms
/// each up once, then asks for the repetitions interleaved (raw, muxado, nerdbank, raw, muxado, ...), so that a
/// slow spell of the machine hurts every implementation alike rather than whichever happened to run then. Only one
/// worker runs at a time; the others wait on their stdin, using no CPU.
/// </remarks>
internal static class CompareCommand
{
    private const int DefaultRepetitions = 5; // per scenario, times its RepetitionFactor
    private static readonly TimeSpan QuietPatience = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(string[] args)
    {
        bool quick = args.Contains("--quick");
        bool allocationProfile = args.Contains("--alloc-profile");
        bool waitQuiet = args.Contains("--wait-quiet");
        int worker = Array.IndexOf(args, "--worker");
        if (worker >= 0)
        {
            return await WorkerHost.RunAsync(args[worker + 1], args[worker + 2], quick, allocationProfile).ConfigureAwait(false);
        }
        string? jsonPath = Option(args, "--json");
        int repetitions = Option(args, "--reps") is { } reps ? int.Parse(reps, CultureInfo.InvariantCulture) : DefaultRepetitions;
        var only = Option(args, "--only")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var scenarios = ScenarioCatalog.Create(quick).Where(s => only is null || only.Contains(s.Name)).ToList();
        if (scenarios.Count == 0)
        {
            await Console.Error.WriteLineAsync("no scenario selected").ConfigureAwait(false);
            return 2;
        }

        string machine = Machine.Describe();
        Console.WriteLine($"Machine: {machine}");
        string more = string.Concat(scenarios.Where(s => s.RepetitionsFor(repetitions) != repetitions).Select(s => $", {s.Name}: {s.RepetitionsFor(repetitions)}"));
        Console.WriteLine($"Mode: {(quick ? "quick" : "full")}, {repetitions} measured repetitions{more} after one warm-up, interleaved");
        if (MuxadoOverrides.Describe() is { } overrides)
        {
            Console.WriteLine($"Muxado options OVERRIDDEN from the environment (not the defaults): {overrides}");
        }
        var clock = Stopwatch.StartNew();
        var results = new List<ScenarioResult>();
        foreach (var scenario in scenarios)
        {
            results.Add(await RunScenarioAsync(scenario, quick, repetitions, allocationProfile, waitQuiet).ConfigureAwait(false));
        }

        Console.WriteLine();
        Console.WriteLine(Report.Render(results));
        Console.WriteLine("Targets:");
        Console.WriteLine();
        Console.WriteLine(Report.RenderTargets(results));
        if (allocationProfile)
        {
            Console.WriteLine(Report.RenderAllocations(results));
        }
        if (results.Any(r => r.MuxadoFramesPerWork.Count > 0))
        {
            Console.WriteLine(Report.RenderFrameCounts(results));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Total time: {clock.Elapsed.TotalSeconds:0.0} s"));
        if (jsonPath is not null)
        {
            JsonReport.Write(jsonPath, results, machine, quick, repetitions);
            Console.WriteLine($"JSON written to {jsonPath}");
        }
        return results.Any(r => r.Errors.Count > 0) ? 1 : 0;
    }

    private static async Task<ScenarioResult> RunScenarioAsync(Scenario scenario, bool quick, int repetitions, bool allocationProfile, bool waitQuiet)
    {
        var result = new ScenarioResult(scenario);
        var workers = scenario.Impls.ToDictionary(impl => impl, impl => WorkerProcess.Start(scenario.Name, impl, quick, allocationProfile));
        try
        {
            foreach (var (impl, process) in workers)
            {
                var reply = await process.AskAsync(WorkerProtocol.Warmup).ConfigureAwait(false);
                if (reply.Error is not null)
                {
                    result.Errors[impl] = "warm-up: " + reply.Error;
                }
            }
            int scenarioRepetitions = scenario.RepetitionsFor(repetitions);
            for (int rep = 1; rep <= scenarioRepetitions; rep++)
            {
                if (waitQuiet)
                {
                    // A shared machine: let other builds and tests pass before a round rather than measure through them.
                    await ForeignLoad.WaitForQuietAsync(Report.ForeignLoadWarning, QuietPatience).ConfigureAwait(false);
                }
                var line = new List<string>();
                foreach (var (impl, process) in workers)
                {
                    if (result.Errors.ContainsKey(impl))
                    {
                        continue; // a failed implementation is not asked again; the others go on
                    }
                    var load = ForeignLoad.Start(process.Pid);
                    var reply = await process.AskAsync(WorkerProtocol.Run).ConfigureAwait(false);
                    double? foreign = load?.Stop();
                    if (reply.Sample is { } sample)
                    {
                        (result.Samples.TryGetValue(impl, out var list) ? list : result.Samples[impl] = []).Add(sample);
                        line.Add($"{impl.Name()} {Report.Number(sample.Value)}");
                        if (reply.FrameCounts is { } frames && sample.Work > 0)
                        {
                            result.MuxadoFramesPerWork.Add(frames.ToDictionary(p => p.Key, p => p.Value / sample.Work));
                        }
                        if (load?.OwnCpuSeconds is { } cpu && sample.Work > 0)
                        {
                            (result.CpuPerWork.TryGetValue(impl, out var cpuList) ? cpuList : result.CpuPerWork[impl] = [])
                                .Add((cpu.User / sample.Work, cpu.System / sample.Work));
                        }
                        if (foreign is { } f)
                        {
                            result.ForeignLoads.Add(f);
                            if (f >= Report.ForeignLoadWarning)
                            {
                                line[^1] += string.Create(CultureInfo.InvariantCulture, $" (other load {f:P0})");
                            }
                        }
                    }
                    else
                    {
                        result.Errors[impl] = reply.Error ?? "no sample";
                        line.Add($"{impl.Name()} FAILED");
                    }
                }
                Console.WriteLine($"  {scenario.Name} #{rep} ({scenario.Unit}): {string.Join(" | ", line)}");
            }
            foreach (var (impl, process) in workers)
            {
                var reply = await process.QuitAsync().ConfigureAwait(false);
                if (reply.PeakWorkingSetBytes is { } peak)
                {
                    result.PeakWorkingSetBytes[impl] = peak;
                }
                if (reply.Allocations is { Count: > 0 } allocations)
                {
                    result.Allocations[impl] = allocations;
                }
            }
        }
        finally
        {
            foreach (var process in workers.Values)
            {
                process.Dispose();
            }
        }
        return result;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
