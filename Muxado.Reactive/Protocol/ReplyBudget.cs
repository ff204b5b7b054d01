namespace Muxado.Reactive.Protocol;

/// <summary>
/// A token bucket for the peer's frames that force a reply or cost work for nothing (PROTOCOL.md, "Limits Go
/// does not have and we do"): it holds <c>burst</c> tokens, each such frame takes one, and tokens come back at
/// <c>perSecond</c>. An empty bucket ends the session with EnhanceYourCalm.
/// </summary>
/// <remarks>
/// Owned by <see cref="ProtocolCore"/>; not thread-safe. No clock: time is the <c>nowTicks</c> of each charge. Kept
/// in fixed point (one token = <see cref="TimeSpan.TicksPerSecond"/> units), so refills are exact for any rate.
/// A clock that goes backwards refills nothing.
/// </remarks>
internal sealed class ReplyBudget(int burst, int perSecond)
{
    private const long Unit = TimeSpan.TicksPerSecond;

    private readonly long _capacity = burst * Unit;
    private long _units = burst * Unit;
    private long? _lastTicks;

    /// <summary>Whole tokens left at the last charge (for tests and statistics).</summary>
    public long TokensLeft => _units / Unit;

    /// <summary>Takes one token; false when none is left (the frame is over budget).</summary>
    public bool TryCharge(long nowTicks)
    {
        Refill(nowTicks);
        if (_units < Unit)
        {
            return false;
        }
        _units -= Unit;
        return true;
    }

    private void Refill(long nowTicks)
    {
        long elapsed = _lastTicks is { } last ? nowTicks - last : 0;
        _lastTicks = nowTicks;
        if (elapsed <= 0 || perSecond == 0 || _units >= _capacity)
        {
            return;
        }
        // Capped before multiplying: a long idle time must neither overflow nor fill beyond the burst.
        long needed = (_capacity - _units + perSecond - 1) / perSecond;
        _units = Math.Min(_capacity, _units + (Math.Min(elapsed, needed) * perSecond));
    }
}
