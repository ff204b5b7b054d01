using System.Globalization;
using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Draws recorded notifications as marbles: each event in the frame its tick falls in, events of one frame as a
/// group, long quiet stretches as a time progression (<c> 1s </c>). Shown next to the expected diagram when an
/// expectation fails: comparing two diagrams is quicker than comparing two tables of ticks.
/// </summary>
internal static class MarbleRenderer
{
    /// <summary>Quiet stretches longer than this many frames are drawn as a time progression.</summary>
    private const int LongestDashRun = 16;

    /// <summary>Diagrams longer than this are not drawn.</summary>
    private const int MaxLength = 2_000;

    /// <summary>
    /// The diagram, or null when it cannot be drawn faithfully: an event before time zero, a value without a token,
    /// or a group that would overlap the next event (a group lasts one frame per event plus two).
    /// </summary>
    /// <param name="messages">The notifications, in recorded order.</param>
    /// <param name="tokenOf">The marble token of a value (a character or a <c>[literal]</c>), or null when it has none.</param>
    /// <param name="timing">Time zero and frame length.</param>
    public static string? TryRender<T>(IEnumerable<Recorded<Notification<T>>> messages, Func<T, string?> tokenOf, MarbleTiming timing)
    {
        var t = timing.Validate();
        var text = new StringBuilder();
        long cursor = 0;
        foreach (var (frame, tokens) in Instants(messages, tokenOf, t))
        {
            if (frame < cursor || tokens is null)
            {
                return null;
            }
            AppendQuiet(text, frame - cursor, t.TicksPerFrame);
            text.Append(tokens.Count == 1 ? tokens[0] : $"({string.Concat(tokens)})");
            cursor = frame + (tokens.Count == 1 ? 1 : tokens.Count + 2);
            if (text.Length > MaxLength)
            {
                return null;
            }
        }
        return text.ToString().Trim();
    }

    /// <summary>Draws <paramref name="frames"/> empty frames as dashes, or as a progression when there are many.</summary>
    private static void AppendQuiet(StringBuilder text, long frames, long ticksPerFrame)
    {
        if (frames <= LongestDashRun)
        {
            text.Append('-', (int)frames);
            return;
        }
        text.Append(' ').Append(Duration(frames * ticksPerFrame)).Append(' ');
    }

    /// <summary>A tick count in the largest marble time unit that expresses it exactly.</summary>
    internal static string Duration(long ticks) => ticks switch
    {
        _ when ticks % TimeSpan.TicksPerMinute == 0 => string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerMinute}m"),
        _ when ticks % TimeSpan.TicksPerSecond == 0 => string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerSecond}s"),
        _ when ticks % TimeSpan.TicksPerMillisecond == 0 => string.Create(CultureInfo.InvariantCulture, $"{ticks / TimeSpan.TicksPerMillisecond}ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ticks}tk"),
    };

    /// <summary>The events grouped by frame; tokens are null when one of them cannot be drawn.</summary>
    private static IEnumerable<(long Frame, List<string>? Tokens)> Instants<T>(
        IEnumerable<Recorded<Notification<T>>> messages, Func<T, string?> tokenOf, MarbleTiming timing)
    {
        long? frame = null;
        List<string>? tokens = [];
        foreach (var message in messages)
        {
            var offset = message.Time - timing.Origin;
            var at = offset < 0 ? -1 : offset / timing.TicksPerFrame;
            if (frame is { } current && current != at)
            {
                yield return (current, tokens);
                tokens = [];
            }
            frame = at;
            var token = Token(message.Value, tokenOf);
            if (token is null || at < 0)
            {
                tokens = null;
            }
            tokens?.Add(token!);
        }
        if (frame is { } last)
        {
            yield return (last, tokens);
        }
    }

    private static string? Token<T>(Notification<T> notification, Func<T, string?> tokenOf)
    {
        if (NotificationMatching.IsPredicate(notification))
        {
            return null;
        }
        return notification.Kind switch
        {
            NotificationKind.OnCompleted => "|",
            NotificationKind.OnError => "#",
            _ => tokenOf(notification.Value),
        };
    }
}
