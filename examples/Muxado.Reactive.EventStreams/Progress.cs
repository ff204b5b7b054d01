using System.Diagnostics;
using System.Globalization;

namespace Muxado.Reactive.EventStreams;

/// <summary>One second of the run, as measured on the sides this process runs.</summary>
/// <param name="Consumed">Events processed in the second, by partition (consumer side).</param>
/// <param name="Produced">Events written in the second, by partition (producer side).</param>
/// <param name="Blocked">The share of the second each partition's writer spent waiting for the consumer's window.</param>
/// <param name="Ahead">How many events each partition's producer is ahead of its processing (both sides in this process).</param>
/// <param name="LiveHeap">Managed memory in use after a full collection, in bytes.</param>
internal sealed record Second(
    int At, IReadOnlyDictionary<int, long> Consumed, IReadOnlyDictionary<int, long> Produced, IReadOnlyDictionary<int, double> Blocked,
    IReadOnlyDictionary<int, long> Ahead, long ConsumerBuffered, long ProducerQueued, long LiveHeap, long WorkingSet);

/// <summary>Measures every second and prints a line; keeps the seconds for the summary.</summary>
internal sealed class Progress(Consumer? consumer, Producer? producer, int? slowPartition)
{
    private readonly List<Second> _seconds = [];
    private readonly long _start = Stopwatch.GetTimestamp();
    private Dictionary<int, long> _consumed = [];
    private Dictionary<int, long> _produced = [];
    private Dictionary<int, TimeSpan> _blocked = [];
    private long _last = Stopwatch.GetTimestamp();

    public IReadOnlyList<Second> Seconds
    {
        get
        {
            lock (_seconds)
            {
                return [.. _seconds];
            }
        }
    }

    public void Measure()
    {
        long now = Stopwatch.GetTimestamp();
        double elapsed = Stopwatch.GetElapsedTime(_last, now).TotalSeconds;
        _last = now;
        var consumed = consumer?.Partitions.ToDictionary(p => p, consumer.Processed) ?? [];
        var produced = producer?.Partitions.ToDictionary(w => w.Partition, w => w.Produced) ?? [];
        var blocked = producer?.Partitions.ToDictionary(w => w.Partition, w => w.Blocked) ?? [];
        var second = new Second(
            (int)Math.Round(Stopwatch.GetElapsedTime(_start, now).TotalSeconds),
            PerSecond(consumed, _consumed, elapsed),
            PerSecond(produced, _produced, elapsed),
            blocked.ToDictionary(b => b.Key, b => Math.Min(1, (b.Value - _blocked.GetValueOrDefault(b.Key)).TotalSeconds / elapsed)),
            consumer is null ? [] : produced.ToDictionary(p => p.Key, p => p.Value - consumed.GetValueOrDefault(p.Key)),
            consumer?.BufferedBytes ?? 0,
            producer?.Session.Statistics.QueuedWriteBytes ?? 0,
            // A full collection first, so that the figure is memory in use, not garbage the GC has not needed to collect.
            GC.GetTotalMemory(forceFullCollection: true),
            Environment.WorkingSet);
        (_consumed, _produced, _blocked) = (consumed, produced, blocked);
        lock (_seconds)
        {
            _seconds.Add(second);
        }
        Console.WriteLine(Describe(second));
    }

    private static Dictionary<int, long> PerSecond(Dictionary<int, long> now, Dictionary<int, long> before, double elapsed) =>
        now.ToDictionary(p => p.Key, p => (long)Math.Round((p.Value - before.GetValueOrDefault(p.Key)) / elapsed));

    private string Describe(Second second)
    {
        var line = new List<string>();
        if (second.Consumed.Count > 0)
        {
            var fast = second.Consumed.Where(p => p.Key != slowPartition).Select(p => p.Value).DefaultIfEmpty(0).ToList();
            string slow = slowPartition is { } s ? $", slow #{s} {second.Consumed.GetValueOrDefault(s),5:N0}/s" : "";
            line.Add($"processed: fast {fast.Average(),6:N0}/s (min {fast.Min(),6:N0}){slow}");
        }
        if (second.Blocked.Count > 0)
        {
            // Without the consumer in this process, the producer does not know which partition is slow: it shows the most held back.
            int held = slowPartition ?? second.Blocked.MaxBy(b => b.Value).Key;
            double others = second.Blocked.Where(b => b.Key != held).Select(b => b.Value).DefaultIfEmpty(0).Average();
            line.Add($"writers blocked: #{held} {second.Blocked[held],4:P0}, others {others,4:P0} ({second.Produced.GetValueOrDefault(held),5:N0} vs " +
                $"{second.Produced.Where(p => p.Key != held).Select(p => p.Value).DefaultIfEmpty(0).Average(),6:N0} events/s written)");
        }
        line.Add(string.Create(CultureInfo.InvariantCulture,
            $"buffered {second.ConsumerBuffered / 1024,4} KiB, write queue {second.ProducerQueued / 1024,3} KiB, heap {second.LiveHeap / 1048576.0,5:0.0} MiB, " +
            $"working set {second.WorkingSet / 1048576,3} MiB"));
        return $"[{second.At,2} s] " + string.Join(" | ", line);
    }
}
