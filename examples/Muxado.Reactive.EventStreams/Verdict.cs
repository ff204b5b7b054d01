namespace Muxado.Reactive.EventStreams;

/// <summary>The end of a run: a summary, and whether the run showed what it claims.</summary>
internal static class Verdict
{
    /// <summary>How many times the slow partition's rate the others must keep, at least.</summary>
    private const double Apart = 3;

    /// <summary>Live managed memory the run may use: the windows it can buffer are 4 MiB; the rest is the runtime's.</summary>
    private const long HeapBound = 16L * 1024 * 1024;

    /// <summary>Prints the summary; returns the exit code: 0 when the claim held, 1 when it did not.</summary>
    public static int Judge(IReadOnlyList<Second> seconds, Consumer consumer, RunOptions run, bool producerHere)
    {
        var problems = new List<string>();
        var partitions = producerHere ? Enumerable.Range(0, run.Partitions).ToList() : consumer.Partitions.ToList();
        // The steady state is what is judged: the seconds in which every partition was fed, but the first of them (the
        // start: connections, the JIT, windows filling).
        var steady = seconds.Where(s => partitions.All(p => s.Consumed.GetValueOrDefault(p) > 0)).Skip(1).ToList();
        foreach (int partition in partitions.Where(p => consumer.Processed(p) == 0))
        {
            problems.Add($"partition {partition} processed no event");
        }
        if (consumer.Failures > 0)
        {
            problems.Add($"{consumer.Failures} partition(s) failed (see above)");
        }
        long total = partitions.Sum(consumer.Processed);
        Console.WriteLine($"summary: {total:N0} events processed in {partitions.Count} partitions, every one in order and intact" +
            (consumer.Failures > 0 ? " except the failed ones" : ""));
        if (steady.Count == 0)
        {
            problems.Add("no steady state to measure (every partition fed for two seconds): give it a --duration of 3 s or more");
        }
        else if (run.SlowPartition is { } slow && partitions.Contains(slow) && partitions.Count > 1)
        {
            double slowRate = steady.Average(s => s.Consumed.GetValueOrDefault(slow));
            double fastRate = steady.Average(s => s.Consumed.Where(p => p.Key != slow).Select(p => (double)p.Value).DefaultIfEmpty(0).Average());
            Console.WriteLine($"summary: in the steady state ({steady.Count} s), the fast partitions processed {fastRate:N0} events/s each on average, " +
                $"the slow one {slowRate:N0} ({(slowRate > 0 ? fastRate / slowRate : double.PositiveInfinity):0.0}x fewer)");
            if (fastRate < Apart * slowRate)
            {
                problems.Add($"the fast partitions were held back: {fastRate:N0}/s is less than {Apart}x the slow one's {slowRate:N0}/s");
            }
            if (producerHere && fastRate < run.Rate / 2.0)
            {
                problems.Add($"the fast partitions did not keep their pace: {fastRate:N0}/s of the {run.Rate:N0}/s produced");
            }
            if (producerHere)
            {
                // Backpressure reached the slow partition's producer: it was never more than a window ahead of the processing
                // (events in flight and buffered, and the chunk being processed, are all inside the window).
                double slowBlocked = steady.Average(s => s.Blocked.GetValueOrDefault(slow));
                double fastBlocked = steady.Average(s => s.Blocked.Where(b => b.Key != slow).Select(b => b.Value).DefaultIfEmpty(0).Average());
                long mostAhead = seconds.Max(s => s.Ahead.GetValueOrDefault(slow));
                long windowEvents = MuxSessionOptions.Default.WindowSize / EventProtocol.EventSize;
                Console.WriteLine($"summary: the slow partition's writer was blocked {slowBlocked:P0} of the time, the others' {fastBlocked:P0}; " +
                    $"it was at most {mostAhead:N0} events ahead of its processing (a window holds {windowEvents:N0})");
                if (mostAhead > windowEvents)
                {
                    problems.Add($"the slow partition's producer ran {mostAhead:N0} events ahead of its processing, beyond its window: no backpressure");
                }
            }
        }
        long peakHeap = seconds.Select(s => s.LiveHeap).DefaultIfEmpty(0).Max();
        long peakBuffered = seconds.Select(s => s.ConsumerBuffered).DefaultIfEmpty(0).Max();
        long windows = (long)partitions.Count * MuxSessionOptions.Default.WindowSize;
        Console.WriteLine($"summary: peak live heap {peakHeap / 1048576.0:0.0} MiB (bound {HeapBound / 1048576} MiB), peak buffered at the consumer " +
            $"{peakBuffered / 1024:N0} KiB (bound: a window a partition, {windows / 1024:N0} KiB)");
        if (peakHeap > HeapBound)
        {
            problems.Add($"memory was not bounded: {peakHeap / 1048576.0:0.0} MiB live");
        }
        if (peakBuffered > windows)
        {
            problems.Add($"the consumer buffered {peakBuffered:N0} bytes, more than the windows allow ({windows:N0})");
        }
        foreach (var problem in problems)
        {
            Console.WriteLine($"FAILED: {problem}");
        }
        if (problems.Count == 0)
        {
            Console.WriteLine("OK");
        }
        return problems.Count == 0 ? 0 : 1;
    }
}
