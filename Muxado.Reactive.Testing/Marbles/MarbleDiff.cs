using System.Globalization;
using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Compares a recorded timeline with the one a marble string draws, and on a difference fails with both drawn one
/// under the other, a caret under the first column where they part, and the differing notifications.
/// </summary>
internal static class MarbleDiff
{
    /// <summary>
    /// Fails unless every expected notification is matched, in order, by a recorded one at its tick or later
    /// within one frame, and nothing else was recorded.
    /// </summary>
    /// <param name="actual">What was recorded.</param>
    /// <param name="marbles">The marbles as the test wrote them.</param>
    /// <param name="expected">Those marbles parsed.</param>
    /// <param name="timing">Time zero and frame length of the marbles.</param>
    /// <param name="tokenOf">Draws a value as a marble token, or null when it has none.</param>
    /// <param name="describe">Writes a value for the list of differences.</param>
    /// <param name="legend">Optional last line, naming what the characters stand for.</param>
    /// <exception cref="TestFailureException">The timelines differ.</exception>
    public static void Check<T>(
        IEnumerable<Recorded<Notification<T>>> actual, string marbles, IReadOnlyList<Recorded<Notification<T>>> expected,
        MarbleTiming timing, Func<T, string?> tokenOf, Func<T, string> describe, string? legend = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        var recorded = actual.ToList();
        var e = expected.ToList();
        var table = RecordedAssert.Table(
            e, recorded,
            (x, y) => y.Time >= x.Time && y.Time < x.Time + timing.TicksPerFrame && NotificationMatching.Matches(x.Value, y.Value),
            r => NotificationText.Format(r, describe));
        if (table is null)
        {
            return;
        }
        throw new TestFailureException(Describe(marbles, e, recorded, timing, tokenOf, legend) + table);
    }

    private static string Describe<T>(
        string marbles, List<Recorded<Notification<T>>> expected, List<Recorded<Notification<T>>> actual,
        MarbleTiming timing, Func<T, string?> tokenOf, string? legend)
    {
        var drawnExpected = MarbleRenderer.TryRender(expected, tokenOf, timing);
        var drawnActual = MarbleRenderer.TryRender(actual, tokenOf, timing);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"The recorded timeline differs from the marbles ({timing}; an event may be recorded up to one frame after its marble time).");
        var written = Normalize(marbles);
        if (drawnExpected is null || drawnExpected != written)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  marbles:  {marbles}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"  expected: {drawnExpected ?? "(cannot be drawn as marbles)"}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  actual:   {drawnActual ?? "(cannot be drawn as marbles: an event before time zero, a value with no marble, or events too close for a group)"}");
        if (drawnExpected is not null && drawnActual is not null && FirstDifference(drawnExpected, drawnActual) is { } column)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"            {new string(' ', column)}^ first difference");
        }
        if (!string.IsNullOrEmpty(legend))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  legend:   {legend}");
        }
        return text.ToString();
    }

    private static string Normalize(string marbles) => string.Join(' ', marbles.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static int? FirstDifference(string a, string b)
    {
        var length = Math.Min(a.Length, b.Length);
        for (var i = 0; i < length; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }
        return a.Length == b.Length ? null : length;
    }
}
