using System.Diagnostics;
using Muxado.Reactive.Benchmarks.Compare.Adapters;
using Muxado.Reactive.Benchmarks.Compare.Scenarios;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// The child side: one process runs one scenario against one implementation, as often as the coordinator asks.
/// </summary>
/// <remarks>
/// One process per implementation × scenario is what makes the peak-memory figure honest: the kernel's high-water
/// mark of resident memory (<see cref="Process.PeakWorkingSet64"/>, VmHWM on Linux) belongs to a process and can
/// never be reset, so each combination needs a process of its own. Keeping the process alive across repetitions
/// keeps the JIT warm and lets the coordinator interleave repetitions of the implementations.
/// </remarks>
internal static class WorkerHost
{
    public static async Task<int> RunAsync(string scenarioName, string implName, bool quick, bool allocationProfile)
    {
        using var sampler = allocationProfile ? new AllocationSampler() : null;
        var scenario = ScenarioCatalog.Create(quick).Single(s => s.Name == scenarioName);
        var impl = MuxPairs.Parse(implName);
        string? command;
        while ((command = await Console.In.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            WorkerReply reply;
            switch (command)
            {
                case WorkerProtocol.Warmup:
                    reply = await WarmUpAsync(scenario, impl, new Sizes(quick).WarmupBudget).ConfigureAwait(false);
                    break;
                case WorkerProtocol.Run:
                    sampler?.Start();
                    CountingTransport.TakeCounts();
                    reply = await RunOnceAsync(scenario, impl, warmup: false).ConfigureAwait(false);
                    if (MuxadoOverrides.CountFrames && impl == Impl.Muxado)
                    {
                        reply = reply with { FrameCounts = CountingTransport.TakeCounts() };
                    }
                    sampler?.Stop();
                    break;
                case WorkerProtocol.Quit:
                    using (var self = Process.GetCurrentProcess())
                    {
                        reply = new WorkerReply(null, self.PeakWorkingSet64, null, sampler?.Top(8));
                    }
                    Console.Out.WriteLine(WorkerProtocol.Serialize(reply));
                    Console.Out.Flush();
                    return 0;
                default:
                    reply = new WorkerReply(null, null, $"unknown command '{command}'");
                    break;
            }
            Console.Out.WriteLine(WorkerProtocol.Serialize(reply));
            Console.Out.Flush();
        }
        return 0;
    }

    /// <summary>
    /// Repeats the short warm-up run until <paramref name="budget"/> is spent. One run is not enough: tiered
    /// compilation promotes hot methods to optimised code in the background some time after their first 30 calls,
    /// and the thread pool sizes itself to the load; measured request/response rates kept rising for about two
    /// seconds of running before they settled.
    /// </summary>
    private static async Task<WorkerReply> WarmUpAsync(Scenario scenario, Impl impl, TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        WorkerReply reply;
        do
        {
            reply = await RunOnceAsync(scenario, impl, warmup: true).ConfigureAwait(false);
        }
        while (reply.Error is null && clock.Elapsed < budget);
        return reply;
    }

    private static async Task<WorkerReply> RunOnceAsync(Scenario scenario, Impl impl, bool warmup)
    {
        // Each run starts from a collected heap, so one run's garbage is not collected on the next run's clock.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        try
        {
            var sample = await scenario.RunAsync(impl, warmup).WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
            return new WorkerReply(sample, null, null);
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"[{scenario.Name}/{impl.Name()}] {ex}").ConfigureAwait(false);
            return new WorkerReply(null, null, ex.GetType().Name + ": " + ex.Message);
        }
    }
}
