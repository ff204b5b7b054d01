namespace Muxado.Reactive;

/// <summary>Answers a heartbeat stream: echoes every byte it reads, in order, until the stream ends.</summary>
internal static class HeartbeatResponder
{
    /// <summary>Runs until the stream ends; never faults (nobody awaits it).</summary>
    public static async Task RunAsync(MuxStream stream)
    {
        try
        {
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                await stream.WriteAsync(chunk).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is MuxadoException or InvalidOperationException)
        {
            // The stream or session ended (or the requester half-closed): the requester notices on its side.
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
