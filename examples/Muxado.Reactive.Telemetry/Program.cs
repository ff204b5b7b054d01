// Live telemetry over muxado: agents push metric series on typed streams (one stream per series) to a collector, which
// composes them with Rx, stores them in a sink per agent, and serves a page that plots rates and heartbeat round trips.
// One agent's sink turns slow: the credit operators make that agent, and only that agent, slow down.
//
//   (no arguments)                      collector and 3 agents in this process, until Ctrl+C or --duration (counted
//                                       from when the agents are connected)
//   --listen 127.0.0.1:7000             the collector alone
//   --agent --connect 127.0.0.1:7000    one agent alone (--name agent-1)
//   --duration 5s  --agents 3  --slow agent-3 (or none)  --slow-from 1.5s
using System.Net;
using System.Reactive.Linq;
using Muxado.Reactive.Telemetry;

CommandLine line;
try
{
    line = CommandLine.Parse(args);
}
catch (FormatException error)
{
    Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // end cleanly: the agents close their sessions, the collector drains
    stop.Cancel();
};
if (line.AgentOnly)
{
    return await RunAgentAsync(line, stop);
}

await using var collector = new Collector(new CollectorOptions
{
    Listen = line.Listen ?? new IPEndPoint(IPAddress.Loopback, 0),
    SlowAgent = line.SlowAgent,
    SlowFrom = line.SlowFrom,
});
Uri url;
try
{
    url = await collector.StartAsync(stop.Token);
}
catch (IOException error)
{
    Console.Error.WriteLine($"error: cannot listen on {line.Listen}: {error.Message}");
    return 1;
}
Console.WriteLine($"collector: page {url}  data {url}data  agents {Agent.AgentEndpoint(url, "NAME")}");
Console.WriteLine(line.SlowAgent is null
    ? "every sink is fast"
    : $"the sink of {line.SlowAgent} turns slow {line.SlowFrom.TotalSeconds:0.#} s after it connects");

var report = new RunReport(line.SlowAgent);
// A consumer picks its own pace: the console takes the state once a second.
using var printing = collector.Snapshots.Sample(TimeSpan.FromSeconds(1)).Subscribe(report.Print);

var agents = line.Listen is null
    ? Enumerable.Range(1, line.Agents).Select(i => Agent.Start(url, $"agent-{i}", Console.WriteLine)).ToList()
    : [];
try
{
    await Task.WhenAll(agents.Select(a => a.Connected)).WaitAsync(TimeSpan.FromSeconds(30), stop.Token);
    if (line.Duration is { } duration)
    {
        stop.CancelAfter(duration);
    }
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (TimeoutException)
{
    Console.WriteLine("FAILED: the agents did not connect within 30 s");
    return 1;
}
catch (OperationCanceledException)
{
    // --duration reached or Ctrl+C
}
var last = collector.Current;
foreach (var agent in agents)
{
    agent.Dispose();
}
await collector.DisposeAsync();
return report.Summarize(last, agents);

static async Task<int> RunAgentAsync(CommandLine line, CancellationTokenSource stop)
{
    var collector = line.Connect ?? throw new InvalidOperationException("unreachable: --agent needs --connect");
    string name = line.Name ?? $"agent-{Environment.ProcessId}";
    if (line.Duration is { } duration)
    {
        stop.CancelAfter(duration);
    }
    Console.WriteLine($"{name}: pushing {string.Join(", ", Agent.DefaultSeries.Select(s => $"{s.Name} ({s.SamplesPerSecond}/s)"))} to {Agent.AgentEndpoint(collector, name)}");
    using var agent = Agent.Start(collector, name, Console.WriteLine);
    long sent = 0;
    var waited = TimeSpan.Zero;
    using var printing = Observable.Interval(TimeSpan.FromSeconds(1)).Subscribe(_ =>
    {
        long nowSent = agent.SamplesSent;
        var nowWaited = agent.Waited;
        Console.WriteLine($"{name}: {nowSent - sent,6} samples/s, {agent.Waiting} writer(s) waiting now, " +
            $"waited {(nowWaited - waited).TotalMilliseconds,6:0} ms (over the series) for the collector's window");
        (sent, waited) = (nowSent, nowWaited);
    });
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        // --duration reached or Ctrl+C
    }
    Console.WriteLine($"{name}: sent {agent.SamplesSent:N0} samples");
    return 0;
}
