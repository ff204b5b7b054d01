using System.Collections.Concurrent;
using System.Net;
using System.Reactive;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Muxado.Reactive.AspNetCore;

namespace Muxado.Reactive.Telemetry;

/// <summary>How a <see cref="Collector"/> runs.</summary>
internal sealed record CollectorOptions
{
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>The agent whose sink turns slow (none: every sink is fast).</summary>
    public string? SlowAgent { get; init; }

    /// <summary>When the slow agent's sink turns slow, counted from that agent's first connection.</summary>
    public TimeSpan SlowFrom { get; init; }

    /// <summary>What each sample costs the slow sink.</summary>
    public TimeSpan SlowPerSample { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan RateWindow { get; init; } = TimeSpan.FromSeconds(1);

    public Action<string> Log { get; init; } = Console.WriteLine;
}

/// <summary>
/// The telemetry collector: one Kestrel that takes agents on a WebSocket endpoint (<c>/mux</c>, a muxado session each)
/// and serves the page (<c>/</c>, with the recent past inside), its live feed (<c>/events</c>, server-sent events) and
/// the current state (<c>/data</c>, JSON).
/// </summary>
/// <remarks>
/// One port for the page and the agents: they share an origin, pass the proxies and firewalls HTTP passes, and the
/// host's shutdown drains the agents' sessions with the rest (MapMuxado's GOAWAY, then close).
/// </remarks>
internal sealed class Collector(CollectorOptions options) : IAsyncDisposable
{
    private const int HistoryLength = 240; // two minutes of snapshots, at two a second
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly ConcurrentDictionary<string, ISampleSink> _sinks = new();
    // Agents arrive in MapMuxado's handlers, on many requests at once; Synchronize makes their OnNext calls one at a time.
    private readonly ISubject<AgentConnection> _agents = Subject.Synchronize(new Subject<AgentConnection>());
    private readonly Queue<TelemetrySnapshot> _history = new();
    private readonly CompositeDisposable _subscriptions = [];
    private TelemetryBoard? _board;
    private WebApplication? _app;
    private long _start;

    /// <summary>The board's state now (what <c>/data</c> returns).</summary>
    public TelemetrySnapshot Current => Board.Snapshot();

    /// <summary>A snapshot at most every 500 ms, when something changed; hot.</summary>
    public IObservable<TelemetrySnapshot> Snapshots { get; private set; } = Observable.Never<TelemetrySnapshot>();

    private TelemetryBoard Board => _board ?? throw new InvalidOperationException("the collector has not started");

    /// <summary>Starts listening; returns the page's URL (http://address:port/).</summary>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    public async Task<Uri> StartAsync(CancellationToken cancellationToken)
    {
        _start = _time.GetTimestamp();
        _board = new TelemetryBoard(Elapsed, SinkFor);
        Compose(_board);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A failed start is the caller's to report (StartAsync throws it), not the host's in a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(options.Listen));
        builder.Services.AddMuxado(muxado =>
        {
            muxado.Session = TelemetryProtocol.SessionOptions;
            muxado.DrainTimeout = TimeSpan.FromSeconds(2);
            muxado.ShutdownMessage = "collector stopping";
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/", () => Results.Text(Page.Render(History()), "text/html; charset=utf-8"));
        app.MapGet("/data", () => Current);
        app.MapGet("/events", (IHostApplicationLifetime lifetime, CancellationToken requestAborted) =>
            TypedResults.ServerSentEvents(Latest(Snapshots, lifetime.ApplicationStopping, requestAborted), eventType: "snapshot"));
        app.MapMuxado(TelemetryProtocol.AgentPath, SessionRole.Server, ServeAgentAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
    }

    /// <summary>Stops the host (the agents' sessions get a GOAWAY and are closed after the drain) and the pipelines.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(patience.Token);
            await app.DisposeAsync();
        }
        _subscriptions.Dispose();
    }

    private ISampleSink SinkFor(string agent) => _sinks.GetOrAdd(agent, name => name == options.SlowAgent
        ? new SlowSink(options.SlowPerSample, Elapsed() + options.SlowFrom, Elapsed, _time)
        : new FastSink());

    private TimeSpan Elapsed() => _time.GetElapsedTime(_start);

    /// <summary>Wires the pipelines to the board: rates and round trips update it, and each update may make a snapshot.</summary>
    private void Compose(TelemetryBoard board)
    {
        var samples = TelemetryPipeline.Ingest(_agents, SinkFor, options.Log);
        var updates = Observable.Merge(
            TelemetryPipeline.Rates(samples, options.RateWindow).Do(board.Set).Select(_ => Unit.Default),
            TelemetryPipeline.RoundTrips(_agents).Do(board.Set).Select(_ => Unit.Default));
        // Sample: however many updates arrive, the page and the console get the state at most twice a second.
        var snapshots = updates.Sample(TimeSpan.FromMilliseconds(500)).Select(_ => board.Snapshot()).Publish();
        Snapshots = snapshots;
        _subscriptions.Add(snapshots.Subscribe(Remember));
        _subscriptions.Add(snapshots.Connect());
    }

    private void Remember(TelemetrySnapshot snapshot)
    {
        lock (_history)
        {
            _history.Enqueue(snapshot);
            if (_history.Count > HistoryLength)
            {
                _history.Dequeue();
            }
        }
    }

    private TelemetrySnapshot[] History()
    {
        lock (_history)
        {
            return [.. _history];
        }
    }

    /// <summary>One agent's session, for as long as it lasts (MapMuxado closes it when this returns).</summary>
    private async Task ServeAgentAsync(MuxSession session, HttpContext context)
    {
        string name = context.Request.Query["agent"].FirstOrDefault() is { Length: > 0 } given
            ? given
            : $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        try
        {
            await using var heartbeat = await Heartbeat.StartAsync(session, options.HeartbeatInterval,
                tolerance: TimeSpan.FromSeconds(2), context.RequestAborted);
            var agent = new AgentConnection(name, session, heartbeat);
            _ = SinkFor(name); // a slow sink's clock starts when its agent first connects
            Board.Connected(agent);
            options.Log($"collector: {name} connected from {context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}");
            _agents.OnNext(agent);
            var end = await session.Completion;
            Board.Disconnected(agent);
            options.Log($"collector: {name} left ({end.LocalError}{(end.RemoteError is { } remote ? $", peer said {remote}" : "")}: {end.Message})");
        }
        catch (MuxadoException error)
        {
            options.Log($"collector: {name}: {error.Code} {error.Message}");
        }
    }

    /// <summary>
    /// The newest snapshot whenever the client is ready for one: a browser that reads slowly skips snapshots instead of
    /// making the server queue them (a channel of one that drops the oldest). Ends when the browser leaves or the host
    /// stops, so that an open page does not hold up the shutdown.
    /// </summary>
    private static async IAsyncEnumerable<TelemetrySnapshot> Latest(IObservable<TelemetrySnapshot> snapshots,
        CancellationToken stopping, [EnumeratorCancellation] CancellationToken requestAborted = default)
    {
        var latest = Channel.CreateBounded<TelemetrySnapshot>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        using var subscription = snapshots.Subscribe(
            snapshot => latest.Writer.TryWrite(snapshot), error => latest.Writer.TryComplete(error), () => latest.Writer.TryComplete());
        using var leaving = requestAborted.Register(() => latest.Writer.TryComplete());
        using var stopped = stopping.Register(() => latest.Writer.TryComplete());
        await foreach (var snapshot in latest.Reader.ReadAllAsync())
        {
            yield return snapshot;
        }
    }
}
