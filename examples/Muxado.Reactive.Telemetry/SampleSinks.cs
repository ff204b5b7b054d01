namespace Muxado.Reactive.Telemetry;

/// <summary>Where the collector stores an agent's samples (a time-series database, in real life).</summary>
internal interface ISampleSink
{
    string Description { get; }

    /// <summary>When the sink is (or will be) slow from, on the collector's clock; null for a sink that is never slow.</summary>
    TimeSpan? SlowFrom { get; }

    Task WriteAsync(MetricSample[] samples, CancellationToken cancellationToken);
}

/// <summary>A store that keeps up with anything (here: one that keeps nothing).</summary>
internal sealed class FastSink : ISampleSink
{
    public string Description => "fast";

    public TimeSpan? SlowFrom => null;

    public Task WriteAsync(MetricSample[] samples, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// A store that turns slow at <paramref name="slowFrom"/> on the collector's clock (<paramref name="elapsed"/>): a disk
/// that fills up, a remote database under load. From then on every sample takes <paramref name="perSample"/>, so a
/// series stream gets at most 1 s / perSample samples a second through.
/// </summary>
internal sealed class SlowSink(TimeSpan perSample, TimeSpan slowFrom, Func<TimeSpan> elapsed, TimeProvider time) : ISampleSink
{
    public string Description => $"slow from {slowFrom.TotalSeconds:0.0} s, {perSample.TotalMilliseconds:0} ms a sample";

    public TimeSpan? SlowFrom => slowFrom;

    public Task WriteAsync(MetricSample[] samples, CancellationToken cancellationToken) =>
        elapsed() >= slowFrom ? Task.Delay(perSample * samples.Length, time, cancellationToken) : Task.CompletedTask;
}
