using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Marble diagrams on a <see cref="TestScheduler"/>, using its <see cref="TestScheduler.TicksPerFrame"/> and
/// <see cref="TestScheduler.MarbleOrigin"/>. Syntax and timing rules are described on <see cref="Marbles"/>.
/// </summary>
/// <example>
/// <code>
/// var frames = new Dictionary&lt;char, Frame&gt; { ['a'] = Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn) };
/// var wire = scheduler.CreateHotObservable("--a--|", frames);
/// var observer = scheduler.Start(() =&gt; wire);
/// scheduler.ExpectMarbles(observer.Messages, "--a--|", frames);
/// </code>
/// </example>
public static class MarbleSchedulerExtensions
{
    /// <summary>A hot observable from marbles (time zero at <see cref="TestScheduler.MarbleOrigin"/>).</summary>
    public static ITestableObservable<T> CreateHotObservable<T>(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateHotObservable(Marbles.Parse(marbles, values, error, scheduler.MarbleOrigin, scheduler.TicksPerFrame));
    }

    /// <summary>A hot observable of one-character strings from marbles.</summary>
    public static ITestableObservable<string> CreateHotObservable(this TestScheduler scheduler, string marbles, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateHotObservable(Marbles.Parse(marbles, error, scheduler.MarbleOrigin, scheduler.TicksPerFrame));
    }

    /// <summary>A cold observable from marbles (time zero at each subscription; no <c>^</c>).</summary>
    public static ITestableObservable<T> CreateColdObservable<T>(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateColdObservable(Marbles.ParseCold(marbles, values, error, scheduler.TicksPerFrame));
    }

    /// <summary>A cold observable of one-character strings from marbles.</summary>
    public static ITestableObservable<string> CreateColdObservable(this TestScheduler scheduler, string marbles, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateColdObservable(Marbles.ParseCold(marbles, error, scheduler.TicksPerFrame));
    }

    /// <summary>Hot/expected marbles as recorded notifications at absolute times.</summary>
    public static Recorded<Notification<T>>[] ParseMarbles<T>(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return Marbles.Parse(marbles, values, error, scheduler.MarbleOrigin, scheduler.TicksPerFrame);
    }

    /// <summary>Hot/expected marbles of one-character strings as recorded notifications at absolute times.</summary>
    public static Recorded<Notification<string>>[] ParseMarbles(this TestScheduler scheduler, string marbles, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return Marbles.Parse(marbles, error, scheduler.MarbleOrigin, scheduler.TicksPerFrame);
    }

    /// <summary>Subscription marbles (<c>^</c>, <c>!</c>) as a <see cref="Subscription"/>.</summary>
    public static Subscription ParseSubscription(this TestScheduler scheduler, string marbles)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return Marbles.ParseSubscription(marbles, scheduler.MarbleOrigin, scheduler.TicksPerFrame);
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> (e.g. an observer's messages) is the timeline drawn by
    /// <paramref name="marbles"/>; on failure the message also draws the actual timeline when it can.
    /// </summary>
    /// <exception cref="NUnit.Framework.AssertionException">The messages differ.</exception>
    public static void ExpectMarbles<T>(
        this TestScheduler scheduler, IEnumerable<Recorded<Notification<T>>> actual, string marbles,
        IReadOnlyDictionary<char, T> values, Exception? error = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        Expect(scheduler, actual, marbles, scheduler.ParseMarbles(marbles, values, error), v => Reverse(values, v));
    }

    /// <summary>Asserts that <paramref name="actual"/> is the timeline of one-character strings drawn by <paramref name="marbles"/>.</summary>
    /// <exception cref="NUnit.Framework.AssertionException">The messages differ.</exception>
    public static void ExpectMarbles(
        this TestScheduler scheduler, IEnumerable<Recorded<Notification<string>>> actual, string marbles, Exception? error = null) =>
        Expect(scheduler, actual, marbles, scheduler.ParseMarbles(marbles, error), v => v is { Length: 1 } ? v[0] : null);

    /// <summary>Asserts the subscriptions of a test observable, one marble string per expected subscription.</summary>
    /// <exception cref="NUnit.Framework.AssertionException">The subscriptions differ.</exception>
    public static void ExpectSubscriptions(this TestScheduler scheduler, IEnumerable<Subscription> actual, params string[] marbles)
    {
        ArgumentNullException.ThrowIfNull(marbles);
        RecordedAssert.AreEqual(
            marbles.Select(scheduler.ParseSubscription), actual,
            $"Subscriptions do not match marbles {string.Join(", ", marbles.Select(m => $"\"{m}\""))}.");
    }

    private static void Expect<T>(
        TestScheduler scheduler, IEnumerable<Recorded<Notification<T>>> actual, string marbles,
        Recorded<Notification<T>>[] expected, Func<T, char?> symbolOf)
    {
        ArgumentNullException.ThrowIfNull(actual);
        var recorded = actual.ToList();
        var drawn = MarbleRenderer.TryRender(recorded, symbolOf, scheduler.MarbleOrigin, scheduler.TicksPerFrame);
        RecordedAssert.AreEqual(
            expected, recorded,
            $"Messages do not match marbles (time zero at {scheduler.MarbleOrigin}, {scheduler.TicksPerFrame} ticks per frame)." +
            $"{Environment.NewLine}  expected: \"{marbles}\"" +
            $"{Environment.NewLine}  actual:   {(drawn is null ? "(cannot be drawn as marbles)" : $"\"{drawn}\"")}");
    }

    private static char? Reverse<T>(IReadOnlyDictionary<char, T> values, T value)
    {
        foreach (var (key, candidate) in values)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
            {
                return key;
            }
        }
        return null;
    }
}
