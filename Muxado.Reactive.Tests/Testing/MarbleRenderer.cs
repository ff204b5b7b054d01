using System.Reactive;
using System.Text;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Draws recorded messages back as marbles, when they fit (frame-aligned, not before time zero, values that have
/// a character). Shown next to the expected diagram when a marble expectation fails: comparing two diagrams
/// is quicker than comparing two tables of ticks.
/// </summary>
internal static class MarbleRenderer
{
    private const int MaxLength = 200;

    /// <summary>The diagram, or null when the messages cannot be drawn faithfully.</summary>
    public static string? TryRender<T>(IEnumerable<Recorded<Notification<T>>> messages, Func<T, char?> symbolOf, long origin, long ticksPerFrame)
    {
        var text = new StringBuilder();
        long frame = 0;
        foreach (var instant in Instants(messages))
        {
            var offset = instant[0].Time - origin;
            if (offset < 0 || offset % ticksPerFrame != 0 || offset / ticksPerFrame < frame || offset / ticksPerFrame > MaxLength)
            {
                return null;
            }
            text.Append('-', (int)(offset / ticksPerFrame - frame));
            frame = offset / ticksPerFrame;
            var symbols = new StringBuilder();
            foreach (var message in instant)
            {
                if (Symbol(message.Value, symbolOf) is not { } symbol)
                {
                    return null;
                }
                symbols.Append(symbol);
            }
            text.Append(symbols.Length == 1 ? symbols.ToString() : $"({symbols})");
            frame += symbols.Length == 1 ? 1 : symbols.Length + 2;
        }
        return text.ToString();
    }

    private static List<List<Recorded<Notification<T>>>> Instants<T>(IEnumerable<Recorded<Notification<T>>> messages)
    {
        var instants = new List<List<Recorded<Notification<T>>>>();
        foreach (var message in messages)
        {
            if (instants.Count > 0 && instants[^1][0].Time == message.Time)
            {
                instants[^1].Add(message);
            }
            else
            {
                instants.Add([message]);
            }
        }
        return instants;
    }

    private static char? Symbol<T>(Notification<T> notification, Func<T, char?> symbolOf) => notification.Kind switch
    {
        NotificationKind.OnCompleted => '|',
        NotificationKind.OnError => '#',
        _ when notification.HasValue => symbolOf(notification.Value),
        _ => null,
    };
}
