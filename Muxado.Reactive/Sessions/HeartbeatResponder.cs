namespace Muxado.Reactive;

/// <summary>Answers a heartbeat stream: echoes every byte it reads, in order, until the stream ends.</summary>
internal static class HeartbeatResponder
{
    public static async Task RunAsync(MuxStream stream)
    {
        try
        {
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                await stream.WriteAsync(chunk).ConfigureAwait(false);
            }
        }
        catch (MuxadoException)
        {
            // The stream or session ended: the requester notices on its side.
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
