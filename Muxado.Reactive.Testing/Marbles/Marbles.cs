using System.Reactive;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Marble diagrams: a timeline written as text, turned into Microsoft.Reactive.Testing's recorded notifications
/// (<see cref="Recorded{T}"/> of <see cref="Notification{T}"/>) or a <see cref="Subscription"/>.
/// </summary>
/// <remarks>
/// <para><b>Syntax.</b> Each non-space character is one frame of <see cref="MarbleTiming.TicksPerFrame"/> ticks
/// (default 10); an event happens at the start of its frame.</para>
/// <list type="table">
/// <item><term><c>-</c></term><description>one frame with nothing in it.</description></item>
/// <item><term>any other character</term><description>OnNext of the value mapped to it (no map: the character as a
/// one-character string).</description></item>
/// <item><term><c>[text]</c></term><description>a literal: OnNext of the value its reader makes of <c>text</c>, taking
/// one frame like a character. Frame marbles read <c>[WNDINC 1 100]</c> as that frame (<see cref="FrameMarbles"/>);
/// plain string marbles take the text itself; a character map has no literals. Quotes inside may contain
/// <c>]</c>.</description></item>
/// <item><term><c>|</c></term><description>OnCompleted.</description></item>
/// <item><term><c>#</c></term><description>OnError of the given error, or a new <see cref="MarbleException"/>.</description></item>
/// <item><term><c>^</c></term><description>time zero of a hot or expected timeline (it takes a frame like any event;
/// what comes before it is at negative times). Not allowed in cold marbles. In subscription marbles: the
/// subscription.</description></item>
/// <item><term><c>!</c></term><description>the unsubscription, in subscription marbles only.</description></item>
/// <item><term><c>(ab)</c></term><description>a group: everything inside happens at the time of <c>(</c>; afterwards
/// time has advanced one frame per event of the group plus two for the parentheses (the RxJS rule), so
/// <c>(ab)</c> lasts four frames and diagrams written under each other stay aligned. Groups do not nest and may not
/// contain <c>-</c> or time progressions.</description></item>
/// <item><term><c>10ms</c>, <c>1.5s</c>, <c>2m</c>, <c>7tk</c></term><description>a time progression: advances time
/// by that duration (<c>tk</c> = raw ticks) without taking a frame. Recognised only with whitespace (or the string's
/// start or end) on both sides; otherwise its characters are ordinary values.</description></item>
/// <item><term>whitespace</term><description>ignored; use it to align diagrams.</description></item>
/// </list>
/// <para><b>Time origin.</b> Hot and expected marbles are anchored at <see cref="MarbleTiming.Origin"/> (default
/// tick 200, where <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/> subscribes): time zero is the
/// <c>^</c> if there is one, else the first frame. Cold marbles are relative to each subscription. Subscription
/// marbles have their first frame at the origin, so <c>^---!</c> is <c>Subscribe(origin, origin + 4 frames)</c>.</para>
/// <para><b>Comparing.</b> <see cref="Expect{T}(IEnumerable{Recorded{Notification{T}}}, string, IReadOnlyDictionary{char, T}, Exception?, MarbleTiming?)"/>
/// accepts a recorded event up to one frame after its marble time (see <see cref="MarbleTiming"/>), compares values
/// with their equality and errors by type and message, and fails with a <see cref="TestFailureException"/> that
/// draws both timelines.</para>
/// </remarks>
public static class Marbles
{
    /// <summary>Characters with a syntactic meaning; they cannot name values.</summary>
    public const string ReservedCharacters = "-|#^!()[]";

    /// <summary>Parses hot or expected marbles whose characters map to values through <paramref name="values"/>.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, a literal, or a character missing from <paramref name="values"/>.</exception>
    public static Recorded<Notification<T>>[] Parse<T>(
        string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null, MarbleTiming? timing = null) =>
        Build(marbles, MarbleMode.Hot, Lookup(marbles, values), error, timing ?? MarbleTiming.Default, cold: false);

    /// <summary>
    /// Parses hot or expected marbles whose characters stand for themselves as one-character strings, and whose
    /// literals <c>[text]</c> stand for their text.
    /// </summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static Recorded<Notification<string>>[] Parse(string marbles, Exception? error = null, MarbleTiming? timing = null) =>
        Build(marbles, MarbleMode.Hot, Text, error, timing ?? MarbleTiming.Default, cold: false);

    /// <summary>Parses cold marbles (times relative to the subscription, no <c>^</c>) with a value map.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, a <c>^</c>, a literal, or an unmapped character.</exception>
    public static Recorded<Notification<T>>[] ParseCold<T>(
        string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null, long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame) =>
        Build(marbles, MarbleMode.Cold, Lookup(marbles, values), error, new MarbleTiming(0, ticksPerFrame), cold: true);

    /// <summary>Parses cold marbles whose characters and literals stand for themselves.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles or a <c>^</c>.</exception>
    public static Recorded<Notification<string>>[] ParseCold(
        string marbles, Exception? error = null, long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame) =>
        Build(marbles, MarbleMode.Cold, Text, error, new MarbleTiming(0, ticksPerFrame), cold: true);

    /// <summary>
    /// Parses subscription marbles such as <c>--^---!</c>: the first frame is at the origin, <c>^</c> is the
    /// subscription, <c>!</c> the disposal (none: never disposed).
    /// </summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, no <c>^</c>, or characters other than <c>- ^ ! ( )</c>.</exception>
    public static Subscription ParseSubscription(string marbles, MarbleTiming? timing = null)
    {
        var t = (timing ?? MarbleTiming.Default).Validate();
        var parsed = MarbleParser.Parse(marbles, t.TicksPerFrame, MarbleMode.Subscription);
        return parsed.Bang is { } bang
            ? new Subscription(t.Origin + parsed.Caret!.Value, t.Origin + bang)
            : new Subscription(t.Origin + parsed.Caret!.Value);
    }

    /// <summary>
    /// Checks that <paramref name="actual"/> (an observer's messages) is the timeline drawn by <paramref name="marbles"/>,
    /// whose characters map to values through <paramref name="values"/>.
    /// </summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both and lists the differences.</exception>
    public static void Expect<T>(
        IEnumerable<Recorded<Notification<T>>> actual, string marbles, IReadOnlyDictionary<char, T> values,
        Exception? error = null, MarbleTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var t = timing ?? MarbleTiming.Default;
        MarbleDiff.Check(actual, marbles, Parse(marbles, values, error, t), t, v => Reverse(values, v), NotificationText.Value);
    }

    /// <summary>Checks that <paramref name="actual"/> is the timeline of strings drawn by <paramref name="marbles"/>.</summary>
    /// <exception cref="TestFailureException">The timelines differ.</exception>
    public static void Expect(
        IEnumerable<Recorded<Notification<string>>> actual, string marbles, Exception? error = null, MarbleTiming? timing = null)
    {
        var t = timing ?? MarbleTiming.Default;
        MarbleDiff.Check(
            actual, marbles, Parse(marbles, error, t), t,
            v => v is null ? null : v.Length == 1 && !IsReserved(v[0]) ? v : $"[{v}]", NotificationText.Value);
    }

    /// <summary>Checks the subscriptions of a test observable, one marble string per expected subscription.</summary>
    /// <exception cref="TestFailureException">The subscriptions differ.</exception>
    public static void ExpectSubscriptions(IEnumerable<Subscription> actual, MarbleTiming? timing, params string[] marbles)
    {
        ArgumentNullException.ThrowIfNull(marbles);
        RecordedAssert.AreEqual(
            marbles.Select(m => ParseSubscription(m, timing)), actual,
            $"Subscriptions do not match marbles {string.Join(", ", marbles.Select(m => $"\"{m}\""))}.");
    }

    /// <summary>Builds recorded notifications from parsed events; <paramref name="value"/> turns an event into its value.</summary>
    internal static Recorded<Notification<T>>[] Build<T>(
        string marbles, MarbleMode mode, Func<MarbleEvent, T> value, Exception? error, MarbleTiming timing, bool cold)
    {
        var t = timing.Validate();
        var parsed = MarbleParser.Parse(marbles, t.TicksPerFrame, mode);
        var zero = (cold ? 0 : t.Origin) - (parsed.Caret ?? 0);
        var failure = error ?? new MarbleException();
        return parsed.Events.Select(e =>
        {
            var time = zero + e.Offset;
            return e.Symbol switch
            {
                '|' => ReactiveTest.OnCompleted<T>(time),
                '#' => ReactiveTest.OnError<T>(time, failure),
                _ => ReactiveTest.OnNext(time, value(e)),
            };
        }).ToArray();
    }

    /// <summary>True for characters that cannot name a value.</summary>
    internal static bool IsReserved(char c) => ReservedCharacters.Contains(c, StringComparison.Ordinal) || char.IsWhiteSpace(c);

    /// <summary>The character a map gives <paramref name="value"/>, as a token, or null.</summary>
    internal static string? Reverse<T>(IReadOnlyDictionary<char, T>? values, T value)
    {
        if (values is null)
        {
            return null;
        }
        foreach (var (key, candidate) in values)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
            {
                return key.ToString();
            }
        }
        return null;
    }

    /// <summary>Checks a value map and returns the lookup of an event's character in it.</summary>
    internal static Func<MarbleEvent, T> Lookup<T>(string marbles, IReadOnlyDictionary<char, T> values, Func<MarbleEvent, T>? literal = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var key in values.Keys)
        {
            if (IsReserved(key))
            {
                throw new ArgumentException($"'{key}' is marble syntax and cannot name a value.", nameof(values));
            }
        }
        return e => e.Literal is not null
            ? literal is not null ? literal(e) : throw new MarbleFormatException(marbles, e.Position, "a literal '[...]' needs marbles that read literals, such as frame marbles; a value map only has characters")
            : values.TryGetValue(e.Symbol, out var v) ? v : throw new MarbleFormatException(marbles, e.Position, $"'{e.Symbol}' has no entry in the value map");
    }

    private static string Text(MarbleEvent e) => e.Literal ?? e.Symbol.ToString();
}
