using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>One workload, runnable against each implementation it makes sense for.</summary>
internal abstract class Scenario
{
    public const double MiB = 1024 * 1024;

    /// <summary>The key in the table and the JSON.</summary>
    public abstract string Name { get; }

    /// <summary>Unit of the figure.</summary>
    public abstract string Unit { get; }

    /// <summary>Unit of <see cref="Sample.Work"/>, for the allocation column ("B/MiB" and so on).</summary>
    public abstract string WorkUnit { get; }

    /// <summary>True when more is better (throughput); false for memory.</summary>
    public virtual bool HigherIsBetter => true;

    /// <summary>
    /// How many times the run's repetition count this scenario is measured. A scenario whose runs are short and
    /// spread widely (bulk: a fraction of a second each, a factor of 3 between runs on a shared 2-core VM) needs
    /// more of them for a median that holds still from one run of the harness to the next.
    /// </summary>
    public virtual int RepetitionFactor => 1;

    /// <summary>The measured repetitions of this scenario when the run asks for <paramref name="repetitions"/>.</summary>
    public virtual int RepetitionsFor(int repetitions) => repetitions * RepetitionFactor;

    /// <summary>The implementations compared; raw TCP only where it has an honest equivalent.</summary>
    public abstract IReadOnlyList<Impl> Impls { get; }

    /// <summary>One run on a fresh connection: set up (not timed), measure, tear down (not timed).</summary>
    /// <param name="warmup">A shorter run whose only purpose is to get the code jitted and the pools filled.</param>
    public abstract Task<Sample> RunAsync(Impl impl, bool warmup);
}

/// <summary>The sizes of every scenario, for a full or a quick run.</summary>
internal sealed record Sizes(bool Quick)
{
    // Quick still moves 128 MiB: at ~1.5 GiB/s raw TCP needs under 0.1 s, and a shorter run is mostly scheduling noise.
    public long BulkBytes => Quick ? 128L << 20 : 256L << 20;
    /// <summary>How long each worker warms up (repeating the warm-up run) before the first measured run.</summary>
    public TimeSpan WarmupBudget => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    public long BulkWarmupBytes => 32L << 20;
    public int BulkWriteSize => 64 * 1024;

    public TimeSpan RrDuration => Quick ? TimeSpan.FromSeconds(0.75) : TimeSpan.FromSeconds(2.5);
    public TimeSpan RrWarmup => TimeSpan.FromSeconds(0.5);
    public int RrMessageSize => 64;

    public int FanoutStreams => 64;
    public int FanoutBytesPerStream => 1 << 20;
    public int FanoutWarmupBytesPerStream => 256 * 1024;
    public int FanoutWriteSize => 1024;

    public int IdleWarmupStreams => 2_000;

    /// <summary>Idle sessions held at once in sessions10k.</summary>
    public int IdleSessions => 10_000;

    /// <summary>How long each latency phase times requests (idle, beside 1 bulk stream, beside 32).</summary>
    public TimeSpan LatencyPhase => Quick ? TimeSpan.FromSeconds(0.4) : TimeSpan.FromSeconds(1.5);
}
