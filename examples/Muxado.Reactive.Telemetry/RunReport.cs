using System.Text;

namespace Muxado.Reactive.Telemetry;

/// <summary>The console's view of a run: a line per agent every second, and at the end a summary that checks the claim.</summary>
internal sealed class RunReport(string? slowAgent)
{
    private readonly List<TelemetrySnapshot> _seen = [];

    public void Print(TelemetrySnapshot snapshot)
    {
        lock (_seen)
        {
            _seen.Add(snapshot);
        }
        var text = new StringBuilder();
        foreach (var agent in snapshot.Agents)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"[{snapshot.Elapsed,5:0.0} s] {agent.Agent,-10}");
            foreach (var rate in snapshot.Series.Where(r => r.Agent == agent.Agent))
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" {rate.Series} {rate.Rate,5:0}/s ");
            }
            text.Append(System.Globalization.CultureInfo.InvariantCulture,
                $" rtt {(agent.RoundTripMs is { } ms ? $"{ms,5:0.00} ms" : "   --   ")}  buffered {agent.BufferedBytes,5} B");
            text.Append(agent.Agent == slowAgent ? "  (slow sink)" : "").AppendLine();
        }
        Console.Write(text);
    }

    /// <summary>Prints the summary; 0 when every agent's series and round trip were seen and only the slow agent slowed.</summary>
    public int Summarize(TelemetrySnapshot last, IReadOnlyList<Agent> agents)
    {
        List<TelemetrySnapshot> seen;
        lock (_seen)
        {
            seen = [.. _seen, last];
        }
        var problems = new List<string>();
        foreach (var agent in agents)
        {
            var waited = agent.Waited.TotalSeconds;
            Console.WriteLine($"{agent.Name}: sent {agent.SamplesSent:N0} samples, waited {waited:0.0} s (over its series) for the collector's window");
            foreach (var series in Agent.DefaultSeries)
            {
                if (!seen.Any(s => s.Series.Any(r => r.Agent == agent.Name && r.Series == series.Name && r.Rate > 0)))
                {
                    problems.Add($"no samples of {agent.Name}/{series.Name} reached the collector");
                }
            }
            if (!seen.Any(s => s.Agents.Any(a => a.Agent == agent.Name && a.RoundTripMs > 0)))
            {
                problems.Add($"no heartbeat round trip of {agent.Name}");
            }
        }
        // The claim: once its sink is slow, the slow agent's rate drops well below the others', which keep theirs. A
        // snapshot's rates come from the last window that ended by its time, which began up to two windows before it:
        // only snapshots two seconds after the change measure the slow pace alone.
        double? slowFrom = seen.SelectMany(s => s.Agents).FirstOrDefault(a => a.Agent == slowAgent)?.SlowFrom;
        if (slowAgent is not null && agents.Any(a => a.Name == slowAgent) && agents.Count > 1)
        {
            var before = seen.Where(s => s.Elapsed <= slowFrom).SelectMany(s => s.Series.Where(r => r.Agent == slowAgent)).ToList();
            var after = seen.Where(s => s.Elapsed >= slowFrom + 2).SelectMany(s => s.Series).ToList();
            if (after.Count == 0)
            {
                Console.WriteLine($"the run ended before {slowAgent}'s slow pace could be measured: give it a --duration of 4 s or more");
            }
            else
            {
                double slow = after.Where(r => r.Agent == slowAgent).Select(r => r.Rate).DefaultIfEmpty(0).Average();
                double others = after.Where(r => r.Agent != slowAgent).Select(r => r.Rate).DefaultIfEmpty(0).Average();
                Console.WriteLine($"after its sink turned slow, {slowAgent} averaged {slow:0} samples/s a series" +
                    (before.Count > 0 ? $" (before: {before.Average(r => r.Rate):0})" : "") + $"; the other agents {others:0}");
                if (others < 3 * slow)
                {
                    problems.Add($"the other agents ({others:0}/s) were not kept apart from the slow one ({slow:0}/s)");
                }
            }
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
