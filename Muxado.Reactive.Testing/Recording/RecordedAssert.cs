using System.Globalization;
using System.Reactive;
using System.Text;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Assertions over recorded sequences (an observer's messages, a test observable's subscriptions) that fail with a
/// <see cref="TestFailureException"/> showing both sequences side by side, because a one-line list hides the timing
/// a reactive test is usually about.
/// </summary>
/// <remarks>
/// Unlike Microsoft.Reactive.Testing's <c>AssertEqual</c>, errors match by type and message:
/// <c>OnError&lt;int&gt;(300, new TimeoutException("late"))</c> matches any <see cref="TimeoutException"/> with that
/// message recorded at tick 300, not only the same object.
/// </remarks>
public static class RecordedAssert
{
    /// <summary>
    /// Checks that <paramref name="actual"/> has the notifications of <paramref name="expected"/>, in order and at the
    /// same ticks. Values compare with their equality, errors by type and message, and Microsoft.Reactive.Testing's
    /// predicate expectations are asked.
    /// </summary>
    /// <param name="expected">What the test expects.</param>
    /// <param name="actual">What was recorded.</param>
    /// <param name="message">Optional first line of the failure message, e.g. which stream this is.</param>
    /// <exception cref="TestFailureException">The sequences differ.</exception>
    public static void AreEqual<T>(IEnumerable<Recorded<Notification<T>>> expected, IEnumerable<Recorded<Notification<T>>> actual, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var e = expected.ToList();
        var a = actual.ToList();
        if (Table(e, a, (x, y) => x.Time == y.Time && NotificationMatching.Matches(x.Value, y.Value), r => NotificationText.Format(r, NotificationText.Value)) is { } table)
        {
            throw new TestFailureException(string.IsNullOrEmpty(message) ? table : message + Environment.NewLine + table);
        }
    }

    /// <summary>Checks that <paramref name="actual"/> are the subscriptions <paramref name="expected"/>, in order.</summary>
    /// <exception cref="TestFailureException">The subscriptions differ.</exception>
    public static void AreEqual(IEnumerable<Subscription> expected, IEnumerable<Subscription> actual, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        if (Table(expected.ToList(), actual.ToList(), (x, y) => x == y, NotificationText.Format) is { } table)
        {
            throw new TestFailureException(string.IsNullOrEmpty(message) ? table : message + Environment.NewLine + table);
        }
    }

    /// <summary>
    /// The differences of two sequences and both sequences side by side, or null when every item matches.
    /// </summary>
    internal static string? Table<T>(List<T> expected, List<T> actual, Func<T, T, bool> matches, Func<T, string> format)
    {
        var rows = Math.Max(expected.Count, actual.Count);
        var same = new bool[rows];
        var differences = new List<string>();
        for (var i = 0; i < rows; i++)
        {
            same[i] = i < expected.Count && i < actual.Count && matches(expected[i], actual[i]);
            if (!same[i])
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"  [{i}] expected {Cell(expected, i, format)} but was {Cell(actual, i, format)}"));
            }
        }
        if (differences.Count == 0)
        {
            return null;
        }
        var left = expected.Select(format).ToList();
        var right = actual.Select(format).ToList();
        var width = Math.Max("expected".Length, left.Count == 0 ? 0 : left.Max(x => x.Length));
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Recorded sequences differ (expected {expected.Count} items, actual {actual.Count}):");
        foreach (var difference in differences)
        {
            text.AppendLine(difference);
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"     #  {"expected".PadRight(width)} | actual");
        for (var i = 0; i < rows; i++)
        {
            var l = i < left.Count ? left[i] : string.Empty;
            var r = i < right.Count ? right[i] : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"  {(same[i] ? "  " : "> ")}{i,2}  {l.PadRight(width)} | {r}");
        }
        return text.ToString();
    }

    private static string Cell<T>(List<T> items, int index, Func<T, string> format) =>
        index < items.Count ? format(items[index]) : "(nothing)";
}
