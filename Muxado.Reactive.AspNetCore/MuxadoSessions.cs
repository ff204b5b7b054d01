using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Muxado.Reactive.AspNetCore;

/// <summary>
/// The sessions the host's muxado endpoints run, and their graceful end with the host: when it stops, every session
/// gets a GOAWAY, has up to <see cref="MuxadoHostingOptions.DrainTimeout"/> to end, and is closed after that.
/// </summary>
/// <remarks>
/// Registered as a hosted service by <see cref="MuxadoServiceCollectionExtensions.AddMuxado"/>. The drain starts when the
/// host signals <see cref="IHostApplicationLifetime.ApplicationStopping"/>, before any hosted service stops: the server
/// stops first and waits for its requests, and a session's request lasts until its session ends, so waiting for our own
/// <see cref="StopAsync"/> would keep every session for the host's whole shutdown timeout. A session that starts while
/// the host stops is closed at once.
/// </remarks>
public sealed class MuxadoSessions(IOptions<MuxadoHostingOptions> options, IHostApplicationLifetime lifetime) : IHostedService
{
    private readonly Lock _gate = new();
    private readonly HashSet<MuxSession> _live = [];
    private bool _stopping;
    private Task? _drain;
    private CancellationTokenRegistration _onStopping;

    /// <summary>The sessions running now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>Takes <paramref name="session"/> into the drain; false (and nothing taken) once the host stops.</summary>
    internal bool TryAdd(MuxSession session)
    {
        lock (_gate)
        {
            return !_stopping && _live.Add(session);
        }
    }

    internal void Remove(MuxSession session)
    {
        lock (_gate)
        {
            _live.Remove(session);
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _onStopping = lifetime.ApplicationStopping.Register(() => _ = Drain());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Returns when every session has ended, or has been closed at the drain deadline (or when the host gives up).</remarks>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _onStopping.DisposeAsync().ConfigureAwait(false);
        await Drain().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The one drain: started by the first of the stopping signal and <see cref="StopAsync"/>.</summary>
    private Task Drain()
    {
        lock (_gate)
        {
            _stopping = true;
            return _drain ??= DrainAllAsync([.. _live]);
        }
    }

    private async Task DrainAllAsync(MuxSession[] live)
    {
        await Task.Yield(); // not under the gate, nor on the thread that signalled the stop
        var settings = options.Value;
        // Infinite waits for the sessions (the host's shutdown timeout still ends StopAsync); any other negative or
        // out-of-range setting counts as no drain time at all rather than leaving the sessions open.
        var drainTime = settings.DrainTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan
            : settings.DrainTimeout < TimeSpan.Zero || settings.DrainTimeout.TotalMilliseconds > int.MaxValue - 1 ? TimeSpan.Zero
            : settings.DrainTimeout;
        await Task.WhenAll(live.Select(session => session.DrainAsync(drainTime, settings.ShutdownMessage))).ConfigureAwait(false);
    }
}
