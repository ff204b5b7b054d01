using System.Text.Json;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// The line protocol between the coordinator and a worker process: the coordinator writes one command per line
/// on the worker's stdin, the worker answers each with one JSON line on its stdout (nothing else goes there).
/// </summary>
internal static class WorkerProtocol
{
    public const string Warmup = "warmup";
    public const string Run = "run";
    public const string Quit = "quit";

    public static string Serialize(WorkerReply reply) => JsonSerializer.Serialize(reply);

    public static WorkerReply Deserialize(string line) =>
        JsonSerializer.Deserialize<WorkerReply>(line) ?? throw new InvalidOperationException($"unreadable worker reply: {line}");
}

/// <summary>A worker's answer: a sample, its peak memory on quitting, or an error.</summary>
internal sealed record WorkerReply(Sample? Sample, long? PeakWorkingSetBytes, string? Error, IReadOnlyList<TypeShare>? Allocations = null,
    Dictionary<string, long>? FrameCounts = null);
