namespace Muxado.Reactive.Interop;

/// <summary>Writing and reading one stream at once, as an echo of more than a window needs.</summary>
internal static class Duplex
{
    /// <summary>
    /// Runs <paramref name="write"/> and <paramref name="read"/> concurrently. If either fails, the stream is
    /// reset so that the other stops too, and the first failure (the cause, not its consequence) is thrown.
    /// </summary>
    public static async Task RunAsync(MuxStream stream, Func<Task> write, Func<Task> read)
    {
        var writing = Task.Run(write);
        var reading = Task.Run(read);
        var first = await Task.WhenAny(writing, reading).ConfigureAwait(false);
        var second = ReferenceEquals(first, writing) ? reading : writing;
        if (!first.IsCompletedSuccessfully)
        {
            stream.Reset(ErrorCode.StreamCancelled);
            try
            {
                await second.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MuxadoException or OperationCanceledException or PeerCheckException or InvalidOperationException)
            {
                // A consequence of the reset above; the cause is thrown below.
            }
            await first.ConfigureAwait(false);
        }
        await second.ConfigureAwait(false);
    }
}
