using System.Reactive.Linq;

namespace Muxado.Reactive.Telemetry;

/// <summary>The collector's Rx composition: from the agents' sessions to samples, rates and round trips.</summary>
internal static class TelemetryPipeline
{
    /// <summary>
    /// Every sample of every agent, once its sink has stored it: each agent's series streams, merged, and the agents
    /// merged.
    /// </summary>
    public static IObservable<MetricSample> Ingest(IObservable<AgentConnection> agents, Func<string, ISampleSink> sinkFor, Action<string> log) =>
        agents
            .Select(agent => agent.Session.IncomingTyped
                .Select(typed => IngestSeries(agent.Name, typed, sinkFor(agent.Name), log))
                .Merge()
                // The session ended with an error: its streams have said so; the other agents go on.
                .Catch((MuxadoSessionException _) => Observable.Empty<MetricSample>()))
            .Merge();

    /// <summary>
    /// One series stream into its sink. The credit of each chunk returns to the agent only when the sink has stored the
    /// chunk's samples: a slow sink keeps this stream's window shut, and that agent's writer waits, while every other
    /// stream (of this agent or another) has a window of its own and goes on at its own pace.
    /// </summary>
    private static IObservable<MetricSample> IngestSeries(string agent, TypedStream typed, ISampleSink sink, Action<string> log)
    {
        var stream = typed.Stream;
        if (typed.Type != TelemetryProtocol.SeriesStreamType)
        {
            stream.Reset(ErrorCode.StreamRefused);
            return Observable.Empty<MetricSample>();
        }
        return Observable.Defer(() =>
            {
                var decoder = new SeriesDecoder(agent); // per subscription: it holds a record split across chunks
                return stream.ReceivedWithCredit()
                    .SelectAsyncWithCredit(async (chunk, cancellationToken) =>
                    {
                        var samples = decoder.Decode(chunk.Span);
                        await sink.WriteAsync(samples, cancellationToken);
                        return samples;
                    });
            })
            .SelectMany(samples => samples)
            .Catch((Exception error) =>
            {
                // One bad or broken stream is reported and ends alone.
                if (error is InvalidDataException)
                {
                    stream.Reset(ErrorCode.ProtocolError);
                }
                log(error is MuxadoException muxado
                    ? $"{agent} stream {stream.Id}: {muxado.Code} {muxado.Message}"
                    : $"{agent} stream {stream.Id}: {error.Message}");
                return Observable.Empty<MetricSample>();
            });
    }

    /// <summary>
    /// Samples a second of each series, every <paramref name="window"/>. Grouped by agent and series name, not by stream:
    /// an agent that reconnects opens new streams, and its series go on in the same group.
    /// </summary>
    public static IObservable<SeriesRate> Rates(IObservable<MetricSample> samples, TimeSpan window) =>
        samples
            .GroupBy(sample => sample.Key)
            .SelectMany(series => series
                .Window(window)
                .SelectMany(samplesInWindow => samplesInWindow.Count())
                .Select(count => new SeriesRate(series.Key.Agent, series.Key.Series, count / window.TotalSeconds)));

    /// <summary>Each agent's heartbeat round trips, with a summary of its last eight.</summary>
    public static IObservable<RoundTrip> RoundTrips(IObservable<AgentConnection> agents) =>
        agents.SelectMany(agent => agent.Heartbeat.Latencies
            // One subscription to the heartbeat, shared by the latency and its running summary (one each per beat).
            .Publish(latencies => latencies.Zip(latencies.ToRoundTripStatistics(window: 8),
                (last, recent) => new RoundTrip(agent.Name, last, recent)))
            .Catch((MuxadoException _) => Observable.Empty<RoundTrip>()));
}
