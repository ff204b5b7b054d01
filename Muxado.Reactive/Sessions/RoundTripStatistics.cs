using System.Reactive.Linq;

namespace Muxado.Reactive;

/// <summary>A summary of the last round trips (heartbeat latencies), for a status line or telemetry.</summary>
/// <param name="Count">How many round trips it covers: the window, or fewer until that many have come.</param>
/// <param name="Min">The shortest.</param>
/// <param name="Mean">The arithmetic mean (rounded down to a tick).</param>
/// <param name="Max">The longest.</param>
/// <param name="P99">The 99th percentile by nearest rank: the smallest round trip that at least 99 % of them do not exceed
/// (with fewer than 100 round trips, the longest).</param>
public readonly record struct RoundTripStatistics(int Count, TimeSpan Min, TimeSpan Mean, TimeSpan Max, TimeSpan P99);

/// <summary>Operators that summarise round trips, such as <see cref="Heartbeat.Latencies"/>.</summary>
public static class RoundTripStatisticsExtensions
{
    /// <summary>The most round trips a window may hold.</summary>
    public const int MaxWindow = 100_000;

    /// <summary>
    /// After each round trip, the statistics of the last <paramref name="window"/> of them (a sliding window by count).
    /// </summary>
    /// <param name="roundTrips">The round trips, for example <see cref="Heartbeat.Latencies"/>. A negative one fails the
    /// sequence with <see cref="ArgumentOutOfRangeException"/>.</param>
    /// <param name="window">How many of the latest round trips each summary covers, 1..<see cref="MaxWindow"/>.</param>
    /// <remarks>
    /// <para>Each subscription keeps its own window, and summaries are delivered on the thread that delivers the round trip,
    /// at the cost of O(<paramref name="window"/>) per round trip. The sequence completes and fails with
    /// <paramref name="roundTrips"/>. Timeouts are not round trips: feed it <see cref="Heartbeat.Latencies"/>, and count
    /// timeouts from <see cref="Heartbeat.Events"/> if they matter.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is out of range.</exception>
    public static IObservable<RoundTripStatistics> ToRoundTripStatistics(this IObservable<TimeSpan> roundTrips, int window)
    {
        ArgumentNullException.ThrowIfNull(roundTrips);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, MaxWindow);
        return Observable.Defer(() =>
        {
            var summary = new SlidingWindow(window);
            return roundTrips.Select(summary.Add);
        });
    }

    /// <summary>The last round trips in arrival order (to drop the oldest) and sorted (for min, max and the percentile).</summary>
    private sealed class SlidingWindow(int capacity)
    {
        private readonly Queue<long> _arrived = new(Math.Min(capacity, 1024));
        private readonly List<long> _sorted = new(Math.Min(capacity, 1024));
        private Int128 _sum; // a round trip may be long (an echo after days), and there may be many

        public RoundTripStatistics Add(TimeSpan roundTrip)
        {
            if (roundTrip < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(roundTrip), roundTrip, "A round trip cannot be negative.");
            }
            if (_arrived.Count == capacity)
            {
                long oldest = _arrived.Dequeue();
                _sorted.RemoveAt(_sorted.BinarySearch(oldest));
                _sum -= oldest;
            }
            long ticks = roundTrip.Ticks;
            _arrived.Enqueue(ticks);
            int at = _sorted.BinarySearch(ticks);
            _sorted.Insert(at < 0 ? ~at : at, ticks);
            _sum += ticks;
            int count = _sorted.Count;
            int rank = (int)(((long)count * 99 + 99) / 100); // nearest rank, 1-based: ceil(0.99 count) in integers
            return new RoundTripStatistics(
                count,
                TimeSpan.FromTicks(_sorted[0]),
                TimeSpan.FromTicks((long)(_sum / count)),
                TimeSpan.FromTicks(_sorted[count - 1]),
                TimeSpan.FromTicks(_sorted[rank - 1]));
        }
    }
}
