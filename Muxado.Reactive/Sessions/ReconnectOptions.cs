namespace Muxado.Reactive;

/// <summary>
/// How <see cref="MuxSession.Reconnecting"/> and <see cref="MuxSession.ReconnectEvents"/> start sessions and space
/// their attempts: exponential backoff with jitter, on the session's scheduler.
/// </summary>
/// <remarks>
/// The first attempt of a subscription is made at once. After the <c>n</c>-th failed attempt in a row the source waits
/// <c>InitialDelay × Multiplier^(n-1)</c>, at most <see cref="MaxDelay"/>, moved by up to ± <see cref="Jitter"/> of
/// itself (never beyond <see cref="MaxDelay"/>). A connect that succeeds ends the run of failures: after its session has
/// ended the source waits <see cref="InitialDelay"/> (jittered), and a failure after that counts from 1 again. Every wait is a timer
/// of <see cref="MuxSessionOptions.Scheduler"/> of <see cref="Session"/>, so a test scheduler decides exactly when an
/// attempt is made.
/// </remarks>
public sealed record ReconnectOptions
{
    /// <summary>The role of every session started (default <see cref="SessionRole.Client"/>).</summary>
    public SessionRole Role { get; init; } = SessionRole.Client;

    /// <summary>The options of every session started; their <see cref="MuxSessionOptions.Scheduler"/> also runs the backoff.</summary>
    public MuxSessionOptions Session { get; init; } = MuxSessionOptions.Default;

    /// <summary>The wait after a session has ended, and after the first failed attempt of a run. Default 100 ms.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest delay between attempts, jitter included. Default 30 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>What each failed attempt in a row multiplies the delay by. Default 2; at least 1.</summary>
    public double Multiplier { get; init; } = 2;

    /// <summary>The fraction of the delay the jitter may add or take away, 0..1. Default 0.2 (± 20 %).</summary>
    /// <remarks>Jitter spreads the reconnects of many clients that lost the same server, so they do not all come back at once.</remarks>
    public double Jitter { get; init; } = 0.2;

    /// <summary>
    /// Connect attempts in a row that may fail before the observable fails with the last attempt's error. Default null:
    /// retry for ever. A successful connect starts the count again.
    /// </summary>
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// Where the jitter comes from: each call returns a number in [0, 1), where 0.5 means no jitter, 0 the shortest
    /// and values near 1 the longest delay. Default <see cref="Random.Shared"/>; a test passes a fixed function.
    /// </summary>
    public Func<double> RandomSource { get; init; } = Random.Shared.NextDouble;

    /// <summary>The defaults.</summary>
    public static ReconnectOptions Default { get; } = new();

    /// <summary>Checks every setting (and <see cref="Session"/>); throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public ReconnectOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Session, nameof(Session));
        ArgumentNullException.ThrowIfNull(RandomSource, nameof(RandomSource));
        Session.Validate();
        Require(InitialDelay >= TimeSpan.Zero, nameof(InitialDelay), InitialDelay, "must not be negative");
        Require(MaxDelay >= InitialDelay, nameof(MaxDelay), MaxDelay, "must be at least InitialDelay");
        Require(Multiplier >= 1 && double.IsFinite(Multiplier), nameof(Multiplier), Multiplier, "must be a finite number of at least 1");
        Require(Jitter is >= 0 and <= 1, nameof(Jitter), Jitter, "must be 0..1");
        Require(MaxAttempts is null or >= 1, nameof(MaxAttempts), MaxAttempts!, "must be at least 1 (or null: for ever)");
        Require(Role is SessionRole.Client or SessionRole.Server, nameof(Role), Role, "must be Client or Server");
        return this;
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row (1 also after a session's end), jitter included.</summary>
    internal TimeSpan DelayAfter(int failures)
    {
        var ticks = InitialDelay.Ticks * Math.Pow(Multiplier, failures - 1);
        var capped = Math.Min(ticks, MaxDelay.Ticks);
        var drawn = RandomSource();
        // A source outside [0, 1) (or NaN) must not make a negative or undefined delay: clamp it, NaN means no jitter.
        var sample = double.IsNaN(drawn) ? 0.5 : Math.Clamp(drawn, 0, 1);
        var jittered = capped * (1 + (Jitter * ((2 * sample) - 1)));
        return TimeSpan.FromTicks((long)Math.Clamp(jittered, 0, MaxDelay.Ticks));
    }

    private static void Require(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"ReconnectOptions.{name} {rule}.");
        }
    }
}
