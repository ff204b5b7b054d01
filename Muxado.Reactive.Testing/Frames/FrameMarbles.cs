using System.Reactive;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Marble diagrams of muxado frames: <c>-[SYN 1]-[DATA 1 "hi"]-[WNDINC 1 2]--(g|)</c>. Frames are written as
/// bracketed literals, or as single characters named in a legend; everything else is the marble grammar of
/// <see cref="Marbles"/>.
/// </summary>
/// <remarks>
/// <para><b>Frame literals.</b> <c>[SYN 1]</c>, <c>[SYN 1 "hi"]</c>, <c>[DATA 1 "hi"]</c>, <c>[FIN 1]</c>,
/// <c>[SYN|FIN 3 'x']</c>, <c>[DATA 2 &lt;512 bytes&gt;]</c> (zero bytes), <c>[DATA 2 0x00FF]</c>,
/// <c>[RST 1 StreamCancelled]</c>, <c>[WNDINC 1 100]</c>, <c>[GOAWAY 1 ProtocolError "debug"]</c>,
/// <c>[UNKNOWN 7 1]</c>: the kind (DATA frames by their flags), the stream id (a GOAWAY's last stream id), then
/// the code, increment or payload. Words are case-insensitive and error codes are <see cref="ErrorCode"/> names.
/// A literal takes one frame, like a character.</para>
/// <para><b>Legend.</b> A map from characters to frames, for frames a test repeats: <c>-x-y--(g|)</c> with
/// <c>x = Frame.WndInc(1, 100)</c>. When a timeline is drawn, a frame in the legend is drawn as its character
/// and any other frame as its literal, so every frame can be drawn.</para>
/// <para><b>Comparing.</b> Frames compare by value, payload bytes included (<see cref="Frame"/>'s equality; a
/// <see cref="ReadOnlyMemory{T}"/> alone compares by reference). Record written frames with a
/// <see cref="FrameRecorder"/>, which copies each payload, since a writer may reuse its buffer. An expected frame
/// matches a recorded one at its marble time or up to one frame later (see <see cref="MarbleTiming"/>); a failure
/// draws both timelines, marks the first difference and lists the differing frames.</para>
/// </remarks>
public static class FrameMarbles
{
    /// <summary>Reads one frame literal, with or without its brackets: <c>[WNDINC 1 100]</c>.</summary>
    /// <exception cref="FormatException">Not a frame; the message says which word is wrong.</exception>
    public static Frame ParseFrame(string literal)
    {
        ArgumentNullException.ThrowIfNull(literal);
        var text = literal.Trim();
        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            text = text[1..^1];
        }
        return FrameNotation.Parse(text);
    }

    /// <summary>Writes <paramref name="frame"/> as a literal such as <c>[WNDINC 1 100]</c>, which <see cref="ParseFrame"/> reads back.</summary>
    public static string FormatFrame(Frame frame) => "[" + FrameNotation.Format(frame) + "]";

    /// <summary>Parses hot or expected frame marbles as recorded notifications at absolute times.</summary>
    /// <param name="marbles">The diagram.</param>
    /// <param name="legend">Characters standing for frames (optional).</param>
    /// <param name="error">What <c>#</c> stands for (default a <see cref="MarbleException"/>).</param>
    /// <param name="timing">Time zero and frame length (default <see cref="MarbleTiming.Default"/>).</param>
    /// <exception cref="MarbleFormatException">Malformed marbles, a bad frame literal, or a character missing from the legend.</exception>
    public static Recorded<Notification<Frame>>[] Parse(
        string marbles, IReadOnlyDictionary<char, Frame>? legend = null, Exception? error = null, MarbleTiming? timing = null) =>
        Marbles.Build(marbles, MarbleMode.Hot, Values(marbles, legend), error, timing ?? MarbleTiming.Default, cold: false);

    /// <summary>Parses cold frame marbles (times relative to the subscription, no <c>^</c>).</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles, a <c>^</c>, a bad literal or an unknown character.</exception>
    public static Recorded<Notification<Frame>>[] ParseCold(
        string marbles, IReadOnlyDictionary<char, Frame>? legend = null, Exception? error = null, long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame) =>
        Marbles.Build(marbles, MarbleMode.Cold, Values(marbles, legend), error, new MarbleTiming(0, ticksPerFrame), cold: true);

    /// <summary>
    /// Draws recorded frames as marbles (legend characters where the legend has the frame, literals otherwise), or
    /// returns null when they cannot be drawn (an event before time zero, or events too close for a group).
    /// </summary>
    public static string? Render(
        IEnumerable<Recorded<Notification<Frame>>> frames, IReadOnlyDictionary<char, Frame>? legend = null, MarbleTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        return MarbleRenderer.TryRender(frames, f => Token(f, legend), timing ?? MarbleTiming.Default);
    }

    /// <summary>Checks that <paramref name="actual"/> is the timeline of frames drawn by <paramref name="marbles"/>.</summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both.</exception>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static void Expect(
        IEnumerable<Recorded<Notification<Frame>>> actual, string marbles, IReadOnlyDictionary<char, Frame>? legend = null,
        Exception? error = null, MarbleTiming? timing = null)
    {
        var t = timing ?? MarbleTiming.Default;
        MarbleDiff.Check(
            actual, marbles, Parse(marbles, legend, error, t), t,
            f => Token(f, legend), f => FormatFrame(f), Legend(marbles, legend));
    }

    /// <summary>Checks that <paramref name="actual"/> is the timeline of frames drawn by <paramref name="marbles"/>.</summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both.</exception>
    public static void ExpectFrames(
        this IEnumerable<Recorded<Notification<Frame>>> actual, string marbles, IReadOnlyDictionary<char, Frame>? legend = null,
        Exception? error = null, MarbleTiming? timing = null) =>
        Expect(actual, marbles, legend, error, timing);

    /// <summary>A hot observable of frames from marbles, e.g. the inbound side of a transport.</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static ITestableObservable<Frame> CreateHotFrames(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, Frame>? legend = null,
        Exception? error = null, MarbleTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateHotObservable(Parse(marbles, legend, error, timing));
    }

    /// <summary>A cold observable of frames from marbles (time zero at each subscription).</summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    public static ITestableObservable<Frame> CreateColdFrames(
        this TestScheduler scheduler, string marbles, IReadOnlyDictionary<char, Frame>? legend = null,
        Exception? error = null, long ticksPerFrame = MarbleTiming.DefaultTicksPerFrame)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.CreateColdObservable(ParseCold(marbles, legend, error, ticksPerFrame));
    }

    private static Func<MarbleEvent, Frame> Values(string marbles, IReadOnlyDictionary<char, Frame>? legend) =>
        Marbles.Lookup(marbles, legend ?? new Dictionary<char, Frame>(), e =>
        {
            try
            {
                return FrameNotation.Parse(e.Literal!);
            }
            catch (FormatException ex)
            {
                throw new MarbleFormatException(marbles, e.Position, ex.Message);
            }
        });

    private static string Token(Frame frame, IReadOnlyDictionary<char, Frame>? legend) =>
        Marbles.Reverse(legend, frame) ?? FormatFrame(frame);

    /// <summary>The legend entries the marbles use (outside literals, whose letters are words, not names).</summary>
    private static string? Legend(string marbles, IReadOnlyDictionary<char, Frame>? legend)
    {
        if (legend is null)
        {
            return null;
        }
        var names = Marbles.Build(marbles, MarbleMode.Hot, e => e.Literal is null ? e.Symbol : '\0', null, MarbleTiming.Default, cold: false)
            .Where(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext)
            .Select(m => m.Value.Value)
            .ToHashSet();
        return string.Join(", ", legend.Where(kv => names.Contains(kv.Key)).OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} = {FormatFrame(kv.Value)}"));
    }
}
