using System.Diagnostics;
using System.Net.WebSockets;
using System.Reactive.Linq;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Telemetry;

/// <summary>A metric series an agent measures, and how many samples a second it takes of it.</summary>
internal sealed record SeriesSpec(string Name, int SamplesPerSecond, Func<Random, double, double> Next);

/// <summary>
/// A telemetry agent: connects to the collector over a WebSocket (again, with backoff, whenever the connection ends), opens
/// one stream per series and pushes samples at each series' pace, as far as the collector's window lets it.
/// </summary>
/// <remarks>
/// Sampling is paced by a timer that skips the ticks it misses: while the collector holds a series' window shut, the
/// agent waits in <see cref="MuxStream.WriteAsync"/> and samples less, instead of queueing samples nobody reads yet.
/// </remarks>
internal sealed class Agent : IDisposable
{
    public static readonly IReadOnlyList<SeriesSpec> DefaultSeries =
    [
        new("cpu", 500, (random, last) => Math.Clamp(last + random.NextDouble() * 4 - 2, 0, 100)),
        new("memory", 250, (random, last) => Math.Max(0, last + random.NextDouble() * 8 - 4)),
        new("requests", 1000, (random, _) => random.Next(0, 50)),
    ];

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);
    private readonly Action<string> _log;
    private readonly Lock _gate = new();
    private readonly Dictionary<MuxStream, long> _waitingSince = []; // the writes held back now, since when
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IDisposable? _connection;
    private long _samplesSent;
    private TimeSpan _waited;

    private Agent(string name, Action<string> log)
    {
        Name = name;
        _log = log;
    }

    public string Name { get; }

    /// <summary>Completes when the agent has connected for the first time.</summary>
    public Task Connected => _connected.Task;

    /// <summary>Samples written so far, over every series and session.</summary>
    public long SamplesSent => Interlocked.Read(ref _samplesSent);

    /// <summary>Time the series writers spent waiting for the collector's window, summed over the series (waits under way included).</summary>
    public TimeSpan Waited
    {
        get
        {
            lock (_gate)
            {
                return _waitingSince.Values.Aggregate(_waited, (sum, since) => sum + Stopwatch.GetElapsedTime(since));
            }
        }
    }

    /// <summary>How many series writers wait for the collector's window now.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waitingSince.Count;
            }
        }
    }

    /// <summary>Starts pushing to <paramref name="collector"/>'s agent endpoint (ws://host:port/mux); runs until disposed.</summary>
    public static Agent Start(Uri collector, string name, Action<string> log, IReadOnlyList<SeriesSpec>? series = null)
    {
        var agent = new Agent(name, log);
        agent._connection = agent.Connect(AgentEndpoint(collector, name), series ?? DefaultSeries);
        return agent;
    }

    public static Uri AgentEndpoint(Uri collector, string name) => new UriBuilder(collector)
    {
        Scheme = collector.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
        Path = TelemetryProtocol.AgentPath,
        Query = $"agent={Uri.EscapeDataString(name)}",
    }.Uri;

    /// <summary>Stops: cancels the pushes and closes the session (GOAWAY), and dials no more.</summary>
    public void Dispose() => _connection?.Dispose();

    private IDisposable Connect(Uri endpoint, IReadOnlyList<SeriesSpec> series)
    {
        var connections = MuxSession.ReconnectEvents(
            async cancellationToken =>
            {
                var socket = new ClientWebSocket();
                try
                {
                    await socket.ConnectAsync(endpoint, cancellationToken);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                return FrameTransport.FromWebSocket(socket); // the transport owns the socket from here
            },
            new ReconnectOptions { Session = TelemetryProtocol.SessionOptions, MaxDelay = TimeSpan.FromSeconds(5) });
        // One session at a time: each is pushed to until it ends, then Concat takes the next connect. The push is a Task
        // turned into an observable, so disposing the subscription cancels it and a failure reaches OnError.
        return connections
            .Do(connection =>
            {
                if (connection is ReconnectEvent.ConnectFailed failed)
                {
                    _log($"{Name}: cannot reach the collector ({failed.Error.Message}); trying again in {failed.NextDelay?.TotalSeconds:0.0} s");
                }
            })
            .OfType<ReconnectEvent.Connected>()
            .Select(connected => Observable.FromAsync(cancellationToken => PushAsync(connected.Session, series, cancellationToken)))
            .Concat()
            .Subscribe(_ => { }, error => _log($"{Name}: stopped: {error.Message}"));
    }

    private async Task PushAsync(MuxSession session, IReadOnlyList<SeriesSpec> series, CancellationToken cancellationToken)
    {
        _log($"{Name}: connected");
        _connected.TrySetResult();
        // The collector opens streams of its own: heartbeats, to time its round trip to us. Accepting typed streams is
        // what makes the session answer them (it hides heartbeat streams from us); any other stream is refused.
        using var answering = session.IncomingTyped.Subscribe(typed => typed.Stream.Reset(ErrorCode.StreamRefused), _ => { });
        try
        {
            // Each series ends only with the session (or alone, when the collector resets its stream).
            await Task.WhenAll(series.Select(spec => PushSeriesAsync(session, spec, cancellationToken)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped: disposing the subscription closes the session.
        }
        catch (MuxadoSessionException error)
        {
            // The collector went away or the link broke: the reconnect loop dials again.
            _log($"{Name}: disconnected: {error.Code} {error.Message}");
        }
    }

    private async Task PushSeriesAsync(MuxSession session, SeriesSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            await PushSamplesAsync(session, spec, cancellationToken);
        }
        catch (MuxadoStreamException error)
        {
            // This series alone failed (the collector reset its stream): the others go on.
            _log($"{Name}: series {spec.Name} ended: {error.Code} {error.Message}");
        }
    }

    private async Task PushSamplesAsync(MuxSession session, SeriesSpec spec, CancellationToken cancellationToken)
    {
        await using var stream = await session.OpenTypedAsync(TelemetryProtocol.SeriesStreamType, cancellationToken);
        await stream.WriteAsync(TelemetryProtocol.EncodeName(spec.Name), cancellationToken);
        var random = new Random();
        double value = 50;
        int perTick = Math.Max(1, (int)(spec.SamplesPerSecond * Tick.TotalSeconds));
        var batch = new byte[perTick * TelemetryProtocol.RecordSize];
        using var timer = new PeriodicTimer(Tick);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var now = DateTimeOffset.UtcNow;
            for (int i = 0; i < perTick; i++)
            {
                value = spec.Next(random, value);
                TelemetryProtocol.EncodeSample(batch.AsSpan(i * TelemetryProtocol.RecordSize), now, value);
            }
            // A write completes at once while the window is open; when it does not, the collector is holding us back.
            var write = stream.WriteAsync(batch, cancellationToken);
            if (!write.IsCompleted)
            {
                await WaitAsync(stream, write);
            }
            else
            {
                await write;
            }
            Interlocked.Add(ref _samplesSent, perTick);
        }
    }

    private async Task WaitAsync(MuxStream stream, ValueTask write)
    {
        lock (_gate)
        {
            _waitingSince[stream] = Stopwatch.GetTimestamp();
        }
        try
        {
            await write;
        }
        finally
        {
            lock (_gate)
            {
                _waited += Stopwatch.GetElapsedTime(_waitingSince[stream]);
                _waitingSince.Remove(stream);
            }
        }
    }
}
