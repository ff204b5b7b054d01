namespace Muxado.Reactive;

/// <summary>
/// What a reconnecting session source (<see cref="MuxSession.ReconnectEvents"/>) did: a session connected, a session
/// ended (and why), or an attempt to connect failed.
/// </summary>
/// <remarks>
/// For one subscription the events come in order, never overlapping: <see cref="Connected"/> then
/// <see cref="SessionEnded"/> for each session, with any <see cref="ConnectFailed"/> in between.
/// </remarks>
public abstract record ReconnectEvent
{
    private protected ReconnectEvent()
    {
    }

    /// <summary>A session has been started over a newly connected transport.</summary>
    /// <param name="Session">The session; the subscriber uses it, and the source closes it when the subscription is disposed.</param>
    /// <param name="Attempt">Which attempt in a row connected (1 when the first one did).</param>
    public sealed record Connected(MuxSession Session, int Attempt) : ReconnectEvent;

    /// <summary>A session handed out by <see cref="Connected"/> has ended.</summary>
    /// <param name="Session">The session that ended.</param>
    /// <param name="End">How it ended (the same value as its <see cref="MuxSession.Completion"/>).</param>
    /// <param name="NextDelay">How long the source waits before it connects again.</param>
    public sealed record SessionEnded(MuxSession Session, SessionEnd End, TimeSpan NextDelay) : ReconnectEvent;

    /// <summary>An attempt to connect failed: the connect delegate threw, or its task faulted or was cancelled.</summary>
    /// <param name="Error">What the attempt failed with.</param>
    /// <param name="Attempt">Which attempt in a row failed (1-based).</param>
    /// <param name="NextDelay">How long the source waits before the next attempt; null when it gives up
    /// (<see cref="ReconnectOptions.MaxAttempts"/>) and fails with <paramref name="Error"/>.</param>
    public sealed record ConnectFailed(Exception Error, int Attempt, TimeSpan? NextDelay) : ReconnectEvent;
}
