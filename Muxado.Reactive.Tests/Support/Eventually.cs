namespace Muxado.Reactive.Tests.Support;

/// <summary>Waits in real time for something another thread (a socket, a server) makes true, within a bound.</summary>
internal static class Eventually
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Polls <paramref name="condition"/> every 10 ms for up to a minute (a bound, not a timing assumption).</summary>
    public static async Task TrueAsync(Func<bool> condition, string because = "the condition never became true")
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), because);
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Until the peer's GOAWAY has reached <paramref name="client"/>: a new stream is refused with RemoteGoneAway. Each probe
    /// before that opens a stream and resets it at once.
    /// </summary>
    public static Task GoneAwayAsync(MuxSession client) => TrueAsync(() => Refuses(client), "no GOAWAY came");

    private static bool Refuses(MuxSession client)
    {
        try
        {
            client.Open().Reset(ErrorCode.StreamCancelled);
            return false;
        }
        catch (MuxadoException ex) when (ex.Code == ErrorCode.RemoteGoneAway)
        {
            return true;
        }
    }
}
