namespace Muxado.Reactive.Interop;

/// <summary>A heartbeat requester on a session that prints <c>heartbeat latency=...</c> and <c>heartbeat timeout</c>.</summary>
internal sealed class HeartbeatPrinter : IAsyncDisposable
{
    private readonly Heartbeat _heartbeat;
    private readonly IDisposable _subscription;

    private HeartbeatPrinter(Heartbeat heartbeat, IDisposable subscription)
    {
        _heartbeat = heartbeat;
        _subscription = subscription;
    }

    /// <summary>Starts beating; null (after saying why) if the session can no longer open the stream.</summary>
    public static async Task<HeartbeatPrinter?> StartAsync(MuxSession session, PeerOptions options, PeerOutput log)
    {
        Heartbeat heartbeat;
        try
        {
            heartbeat = await Heartbeat.StartAsync(session, options.HeartbeatInterval, options.HeartbeatTolerance).ConfigureAwait(false);
        }
        catch (MuxadoException ex)
        {
            log.Line($"heartbeat could not start: {ex.Message}");
            return null;
        }
        // The first beat goes out one interval after the start, so nothing is missed by subscribing now.
        var subscription = heartbeat.Events.Subscribe(
            beat => log.Line(PeerOutput.DescribeHeartbeat(beat)),
            error => log.Line($"heartbeat stopped: {error.Message}"));
        return new HeartbeatPrinter(heartbeat, subscription);
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
    }
}
