using System.Reactive;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Marble diagrams on Microsoft.Reactive.Testing's types: test observables made from marbles, and recorded
/// messages or subscriptions checked against marbles. Syntax and timing are described on <see cref="Marbles"/>
/// and <see cref="MarbleTiming"/>.
/// </summary>
/// <example>
/// <code>
/// var scheduler = new TestScheduler();
/// var xs = scheduler.CreateHotObservable("-a-b-|");
/// var observer = scheduler.Start(() =&gt; xs.Select(x =&gt; x.ToUpperInvariant()));
/// observer.Messages.ExpectMarbles("-A-B-|");
/// xs.Subscriptions.ExpectSubscriptions("^" + new string('-', 79) + "!");
/// </code>
/// </example>
public static class MarbleSchedulerExtensions
{
    /// <summary>A hot observable from marbles whose characters map to values through <paramref name="values"/>.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles or an unmapped character.</exception>
    public static ITestableObservable<T> CreateHotObservable<T>(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null, MarbleTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateHotObservable(Marbles.Parse(marbles, values, error, timing));
    }

    /// <summary>A hot observable of strings from marbles (a character or a <c>[literal]</c> stands for itself).</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static ITestableObservable<string> CreateHotObservable(
        this TestScheduler scheduler, string marbles, Exception? error = null, MarbleTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateHotObservable(Marbles.Parse(marbles, error, timing));
    }

    /// <summary>A cold observable from marbles (time zero at each subscription, no <c>^</c>) with a value map.</summary>
    /// <remarks>An event at relative time 0 arrives one tick after the subscription: Microsoft.Reactive.Testing
    /// schedules it for "now", which its <see cref="TestScheduler"/> runs a tick later.</remarks>
    /// <exception cref="MarbleFormatException">Malformed marbles, a <c>^</c>, or an unmapped character.</exception>
    public static ITestableObservable<T> CreateColdObservable<T>(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null,
        long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateColdObservable(Marbles.ParseCold(marbles, values, error, ticksPerFrame));
    }

    /// <summary>A cold observable of strings from marbles.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles or a <c>^</c>.</exception>
    public static ITestableObservable<string> CreateColdObservable(
        this TestScheduler scheduler, string marbles, Exception? error = null, long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateColdObservable(Marbles.ParseCold(marbles, error, ticksPerFrame));
    }

    /// <summary>
    /// Checks that <paramref name="actual"/> (e.g. an observer's messages) is the timeline drawn by
    /// <paramref name="marbles"/>, whose characters map to values through <paramref name="values"/>.
    /// </summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both.</exception>
    public static void ExpectMarbles<T>(
        this IEnumerable<Recorded<Notification<T>>> actual, string marbles, IReadOnlyDictionary<char, T> values,
        Exception? error = null, MarbleTiming? timing = null) =>
        Marbles.Expect(actual, marbles, values, error, timing);

    /// <summary>Checks that <paramref name="actual"/> is the timeline of strings drawn by <paramref name="marbles"/>.</summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both.</exception>
    public static void ExpectMarbles(
        this IEnumerable<Recorded<Notification<string>>> actual, string marbles, Exception? error = null, MarbleTiming? timing = null) =>
        Marbles.Expect(actual, marbles, error, timing);

    /// <summary>Checks the subscriptions of a test observable, one marble string per expected subscription (default timing).</summary>
    /// <exception cref="TestFailureException">The subscriptions differ.</exception>
    public static void ExpectSubscriptions(this IEnumerable<Subscription> actual, params string[] marbles) =>
        Marbles.ExpectSubscriptions(actual, null, marbles);

    /// <summary>Checks the subscriptions of a test observable against marbles on <paramref name="timing"/>.</summary>
    /// <exception cref="TestFailureException">The subscriptions differ.</exception>
    public static void ExpectSubscriptions(this IEnumerable<Subscription> actual, MarbleTiming timing, params string[] marbles) =>
        Marbles.ExpectSubscriptions(actual, timing, marbles);
}
