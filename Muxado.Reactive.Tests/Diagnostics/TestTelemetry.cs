using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Muxado.Reactive.Tests.Diagnostics;

/// <summary>
/// A logger factory over one <see cref="FakeLogCollector"/>, and a meter factory of the test's own (so sessions of tests
/// running in parallel never reach each other's collectors).
/// </summary>
internal sealed class TestTelemetry : IDisposable
{
    private readonly LoggerFactory _loggers;

    public TestTelemetry()
    {
        _loggers = new LoggerFactory([new FakeLoggerProvider(Logs)], new LoggerFilterOptions { MinLevel = LogLevel.Trace });
    }

    public FakeLogCollector Logs { get; } = new();

    public ILoggerFactory LoggerFactory => _loggers;

    public TestMeterFactory Meters { get; } = new();

    public MuxSessionOptions Options(MuxSessionOptions? options = null) =>
        (options ?? new MuxSessionOptions()) with { LoggerFactory = _loggers, MeterFactory = Meters };

    /// <summary>The records with event id <paramref name="id"/>, in order.</summary>
    public IReadOnlyList<FakeLogRecord> Events(int id) => Logs.GetSnapshot().Where(r => r.Id.Id == id).ToList();

    public void Dispose()
    {
        _loggers.Dispose();
        Meters.Dispose();
    }
}

/// <summary>An <see cref="IMeterFactory"/> that owns its meters (one per name), as the one from dependency injection does.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        lock (_meters)
        {
            var existing = _meters.FirstOrDefault(m => m.Name == options.Name && m.Version == options.Version);
            if (existing is not null)
            {
                return existing;
            }
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}
