using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Marble diagrams: a timeline written as text, turned into recorded notifications or a subscription.
/// </summary>
/// <remarks>
/// <para><b>Syntax.</b> Each non-space character is one frame of <c>ticksPerFrame</c> ticks (default
/// <see cref="DefaultTicksPerFrame"/>); an event happens at the start of its frame.</para>
/// <list type="table">
/// <item><term><c>-</c></term><description>one frame with nothing in it.</description></item>
/// <item><term>any other character</term><description>OnNext of the value mapped to it (no map: the character as a
/// one-character string).</description></item>
/// <item><term><c>|</c></term><description>OnCompleted.</description></item>
/// <item><term><c>#</c></term><description>OnError of the given error, or a new <see cref="MarbleException"/>.</description></item>
/// <item><term><c>^</c></term><description>time zero of a hot or expected timeline (it takes a frame like any event;
/// characters before it are negative times). Not allowed in cold marbles. In subscription marbles: the
/// subscription.</description></item>
/// <item><term><c>!</c></term><description>the unsubscription, in subscription marbles only.</description></item>
/// <item><term><c>(ab)</c></term><description>a group: everything inside happens at the time of <c>(</c>; afterwards time
/// has advanced one frame per character of the group, parentheses included (RxJS rule), so <c>(ab)</c> lasts
/// four frames and columns of diagrams written under each other stay aligned. Groups do not nest and may not
/// contain <c>-</c> or time progressions.</description></item>
/// <item><term><c>10ms</c>, <c>1.5s</c>, <c>2m</c>, <c>7tk</c></term><description>a time progression: advances time by
/// that duration (<c>tk</c> = raw ticks) without taking a frame. Recognised only with whitespace (or the string's
/// start/end) on both sides; otherwise its characters are ordinary values.</description></item>
/// <item><term>whitespace</term><description>ignored; use it to align diagrams.</description></item>
/// </list>
/// <para><b>Time origin.</b> Hot and expected marbles are anchored at <c>origin</c> (default
/// <see cref="DefaultOrigin"/> = <see cref="ReactiveTest.Subscribed"/>, where <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/>
/// subscribes): time zero is the <c>^</c> if there is one, else the first frame. Cold marbles are relative to each
/// subscription (time zero = the subscription). Subscription marbles are anchored with their first frame at
/// <c>origin</c>, so <c>^---!</c> is <c>Subscribe(origin, origin + 4 frames)</c>.</para>
/// </remarks>
public static class Marbles
{
    /// <summary>Default length of one frame: 10 ticks.</summary>
    public const long DefaultTicksPerFrame = 10;

    /// <summary>Default absolute time of time zero: <see cref="ReactiveTest.Subscribed"/>.</summary>
    public const long DefaultOrigin = ReactiveTest.Subscribed;

    /// <summary>Characters with a syntactic meaning; they cannot be values.</summary>
    public const string ReservedCharacters = "-|#^!()";

    /// <summary>Parses hot or expected marbles whose characters map to values through <paramref name="values"/>.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, or a value character missing from <paramref name="values"/>.</exception>
    public static Recorded<Notification<T>>[] Parse<T>(
        string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null,
        long origin = DefaultOrigin, long ticksPerFrame = DefaultTicksPerFrame)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Build(marbles, MarbleMode.Hot, Lookup(marbles, values), error, origin, ticksPerFrame);
    }

    /// <summary>Parses hot or expected marbles whose value characters stand for themselves as one-character strings.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static Recorded<Notification<string>>[] Parse(
        string marbles, Exception? error = null, long origin = DefaultOrigin, long ticksPerFrame = DefaultTicksPerFrame) =>
        Build(marbles, MarbleMode.Hot, static e => e.Symbol.ToString(), error, origin, ticksPerFrame);

    /// <summary>Parses cold marbles (times relative to subscription, no <c>^</c>) with a value map.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, a <c>^</c>, or an unmapped value character.</exception>
    public static Recorded<Notification<T>>[] ParseCold<T>(
        string marbles, IReadOnlyDictionary<char, T> values, Exception? error = null, long ticksPerFrame = DefaultTicksPerFrame)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Build(marbles, MarbleMode.Cold, Lookup(marbles, values), error, 0, ticksPerFrame);
    }

    /// <summary>Parses cold marbles whose value characters stand for themselves.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles or a <c>^</c>.</exception>
    public static Recorded<Notification<string>>[] ParseCold(
        string marbles, Exception? error = null, long ticksPerFrame = DefaultTicksPerFrame) =>
        Build(marbles, MarbleMode.Cold, static e => e.Symbol.ToString(), error, 0, ticksPerFrame);

    /// <summary>
    /// Parses subscription marbles such as <c>--^---!</c>: the first frame is at <paramref name="origin"/>, <c>^</c>
    /// is the subscription, <c>!</c> the disposal (none: never disposed).
    /// </summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, no <c>^</c>, or characters other than <c>- ^ ! ( )</c>.</exception>
    public static Subscription ParseSubscription(string marbles, long origin = DefaultOrigin, long ticksPerFrame = DefaultTicksPerFrame)
    {
        var parsed = MarbleParser.Parse(marbles, ticksPerFrame, MarbleMode.Subscription);
        return parsed.Bang is { } bang
            ? new Subscription(origin + parsed.Caret!.Value, origin + bang)
            : new Subscription(origin + parsed.Caret!.Value);
    }

    private static Recorded<Notification<T>>[] Build<T>(
        string marbles, MarbleMode mode, Func<MarbleEvent, T> value, Exception? error, long origin, long ticksPerFrame)
    {
        var parsed = MarbleParser.Parse(marbles, ticksPerFrame, mode);
        var zero = origin - (parsed.Caret ?? 0);
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

    private static Func<MarbleEvent, T> Lookup<T>(string marbles, IReadOnlyDictionary<char, T> values)
    {
        foreach (var key in values.Keys)
        {
            if (ReservedCharacters.Contains(key, StringComparison.Ordinal) || char.IsWhiteSpace(key))
            {
                throw new ArgumentException($"'{key}' is marble syntax and cannot name a value.", nameof(values));
            }
        }
        return e => values.TryGetValue(e.Symbol, out var v)
            ? v
            : throw new MarbleFormatException(marbles, e.Position, $"'{e.Symbol}' has no entry in the value map");
    }
}
