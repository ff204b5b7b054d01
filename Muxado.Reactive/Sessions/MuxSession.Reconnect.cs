using System.Reactive.Linq;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    /// <summary>
    /// A session source that connects, hands out the session, and when it ends connects again, with exponential backoff
    /// and jitter (<see cref="ReconnectOptions"/>) on the session's scheduler.
    /// </summary>
    /// <param name="connect">Makes a new transport (dials, handshakes); called once per attempt, with a token cancelled
    /// when the subscription is disposed. Whatever it throws, and a task that faults or is cancelled, is a failed attempt
    /// that is retried, never a crash.</param>
    /// <param name="options">Role, session options and backoff (default <see cref="ReconnectOptions.Default"/>).</param>
    /// <returns>The sessions, one <c>OnNext</c> per successful connect. How each ended is its own
    /// <see cref="Completion"/> or <see cref="Ended"/>; <see cref="ReconnectEvents"/> reports the same loop with its
    /// ends and failed attempts.</returns>
    /// <remarks>See <see cref="ReconnectEvents"/>; this is its <see cref="ReconnectEvent.Connected"/> sessions.</remarks>
    /// <exception cref="ArgumentException">A setting of <paramref name="options"/> is invalid.</exception>
    public static IObservable<MuxSession> Reconnecting(Func<CancellationToken, Task<FrameTransport>> connect, ReconnectOptions? options = null) =>
        ReconnectEvents(connect, options).OfType<ReconnectEvent.Connected>().Select(connected => connected.Session);

    /// <summary>
    /// The reconnect loop of <see cref="Reconnecting"/> as events: each session as it connects, how it ended, and each
    /// failed attempt with the wait before the next.
    /// </summary>
    /// <param name="connect">Makes a new transport; see <see cref="Reconnecting"/>.</param>
    /// <param name="options">Role, session options and backoff (default <see cref="ReconnectOptions.Default"/>).</param>
    /// <remarks>
    /// <para><b>Cold.</b> Each subscription runs its own loop: its first attempt is scheduled at once on
    /// <see cref="MuxSessionOptions.Scheduler"/> of <see cref="ReconnectOptions.Session"/>, and every later one after the
    /// backoff, on a timer of that scheduler (so a test scheduler drives it exactly). One attempt at a time: the next is
    /// made only after the session has ended or the attempt has failed.</para>
    /// <para><b>Notifications</b> are made on that scheduler, one at a time, never overlapping. The sequence fails only when
    /// <see cref="ReconnectOptions.MaxAttempts"/> attempts in a row have failed, with the last attempt's error (after the
    /// <see cref="ReconnectEvent.ConnectFailed"/> that says so); it never completes on its own.</para>
    /// <para><b>Ownership.</b> The subscriber uses each session; the loop owns it. Disposing the subscription stops the
    /// loop: no further attempt, the token of a connect in progress is cancelled (a transport it still returns is
    /// disposed), and the current session is closed (its <see cref="DisposeAsync"/> is started, not awaited: its
    /// <see cref="Completion"/> says when it is done). A subscriber may close a session itself; the loop then
    /// reconnects as for any other end.</para>
    /// <para><b>User code.</b> <paramref name="connect"/> is never called under a lock, nor inside <c>Subscribe</c>.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A setting of <paramref name="options"/> is invalid.</exception>
    public static IObservable<ReconnectEvent> ReconnectEvents(Func<CancellationToken, Task<FrameTransport>> connect, ReconnectOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        return ReconnectLoop.Create(connect, (options ?? ReconnectOptions.Default).Validate());
    }
}
