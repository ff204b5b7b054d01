using System.Collections.Concurrent;

namespace Muxado.Reactive.Telemetry;

/// <summary>An agent's session at the collector, with the heartbeat that times it.</summary>
internal sealed record AgentConnection(string Name, MuxSession Session, Heartbeat Heartbeat);

/// <summary>Samples a second of one series, over the last rate window.</summary>
internal sealed record SeriesRate(string Agent, string Series, double Rate);

/// <summary>One heartbeat of an agent: its round trip, and a summary of the last few.</summary>
internal sealed record RoundTrip(string Agent, TimeSpan Last, RoundTripStatistics Recent);

/// <summary>An agent as the page shows it.</summary>
/// <param name="SlowFrom">When its sink is slow from (seconds on the collector's clock), if it is a slow one.</param>
/// <param name="BufferedBytes">Bytes received from it that wait for its sink: at most one window per series.</param>
internal sealed record AgentStatus(string Agent, bool Connected, string Sink, double? SlowFrom, double? RoundTripMs, double? MaxRoundTripMs, long BufferedBytes);

/// <summary>What the collector shows at one moment (the JSON of <c>/data</c> and of every server-sent event).</summary>
/// <param name="Elapsed">Seconds since the collector started.</param>
internal sealed record TelemetrySnapshot(double Elapsed, IReadOnlyList<SeriesRate> Series, IReadOnlyList<AgentStatus> Agents);

/// <summary>The latest rate of every series and round trip of every agent; thread-safe.</summary>
internal sealed class TelemetryBoard(Func<TimeSpan> elapsed, Func<string, ISampleSink> sinkFor)
{
    private readonly ConcurrentDictionary<SeriesKey, SeriesRate> _rates = new();
    private readonly ConcurrentDictionary<string, RoundTrip> _roundTrips = new();
    private readonly ConcurrentDictionary<string, AgentConnection?> _agents = new();

    public void Set(SeriesRate rate) => _rates[new SeriesKey(rate.Agent, rate.Series)] = rate;

    public void Set(RoundTrip roundTrip) => _roundTrips[roundTrip.Agent] = roundTrip;

    public void Connected(AgentConnection agent) => _agents[agent.Name] = agent;

    /// <summary>The agent stays on the board (its rates fall to zero) until it comes back.</summary>
    public void Disconnected(AgentConnection agent) => _agents.TryUpdate(agent.Name, null, agent);

    public TelemetrySnapshot Snapshot()
    {
        var series = _rates.Values
            .OrderBy(r => r.Agent, StringComparer.Ordinal).ThenBy(r => r.Series, StringComparer.Ordinal)
            .ToList();
        var agents = _agents
            .OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a =>
            {
                var roundTrip = _roundTrips.GetValueOrDefault(a.Key);
                var sink = sinkFor(a.Key);
                return new AgentStatus(a.Key, a.Value is not null, sink.Description, sink.SlowFrom?.TotalSeconds,
                    roundTrip?.Last.TotalMilliseconds, roundTrip?.Recent.Max.TotalMilliseconds,
                    a.Value?.Session.Statistics.BufferedReceiveBytes ?? 0);
            })
            .ToList();
        return new TelemetrySnapshot(Math.Round(elapsed().TotalSeconds, 3), series, agents);
    }
}
