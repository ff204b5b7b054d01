using System.Globalization;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>
/// What-if knobs for muxado's session options, from the environment (workers inherit it), so that a hypothesis
/// such as "bulk is limited by the window" can be checked without editing code:
/// <c>MUXADO_BENCH_WINDOW</c>, <c>MUXADO_BENCH_MAX_FRAME</c>, <c>MUXADO_BENCH_MAX_WRITE_QUEUE</c> (bytes) and
/// <c>MUXADO_BENCH_EMPTY_SYN</c> (true/false). Unset, the library's defaults are measured. The report header names
/// any override in force, so such a run is never mistaken for a default one.
/// </summary>
internal static class MuxadoOverrides
{
    private static readonly (string Name, string Variable)[] Knobs =
    [
        ("WindowSize", "MUXADO_BENCH_WINDOW"),
        ("MaxFramePayload", "MUXADO_BENCH_MAX_FRAME"),
        ("MaxWriteQueueBytes", "MUXADO_BENCH_MAX_WRITE_QUEUE"),
        ("OpenWithEmptySyn", "MUXADO_BENCH_EMPTY_SYN"),
    ];

    /// <summary>"WindowSize=4194304, ..." or null when nothing is overridden.</summary>
    public static string? Describe()
    {
        var set = Knobs.Where(k => Environment.GetEnvironmentVariable(k.Variable) is not null)
            .Select(k => $"{k.Name}={Environment.GetEnvironmentVariable(k.Variable)}").ToList();
        return set.Count == 0 ? null : string.Join(", ", set);
    }

    /// <summary><paramref name="options"/> (or the defaults) with the overrides applied.</summary>
    public static MuxSessionOptions Apply(MuxSessionOptions? options)
    {
        var b = options ?? MuxSessionOptions.Default;
        if (Describe() is null)
        {
            return b;
        }
        return new MuxSessionOptions
        {
            WindowSize = Int("MUXADO_BENCH_WINDOW") ?? b.WindowSize,
            MaxFramePayload = Int("MUXADO_BENCH_MAX_FRAME") ?? b.MaxFramePayload,
            MaxWriteQueueBytes = Int("MUXADO_BENCH_MAX_WRITE_QUEUE") ?? b.MaxWriteQueueBytes,
            OpenWithEmptySyn = Environment.GetEnvironmentVariable("MUXADO_BENCH_EMPTY_SYN") is { } syn ? bool.Parse(syn) : b.OpenWithEmptySyn,
            AcceptBacklog = b.AcceptBacklog,
            MaxIncomingStreams = b.MaxIncomingStreams,
            MaxBufferedBytes = Math.Max(b.MaxBufferedBytes, Int("MUXADO_BENCH_WINDOW") ?? 0),
            MaxDebugTextLength = b.MaxDebugTextLength,
            GoAwayLinger = b.GoAwayLinger,
            WriteTimeout = b.WriteTimeout,
            ReplyFrameBudget = b.ReplyFrameBudget,
            ReplyBudgetWindow = b.ReplyBudgetWindow,
            Scheduler = b.Scheduler,
            RespondToHeartbeats = b.RespondToHeartbeats,
        };
    }

    private static int? Int(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
}
