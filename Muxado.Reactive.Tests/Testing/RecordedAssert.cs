using System.Globalization;
using System.Text;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// NUnit assertions over recorded sequences (messages, subscriptions). A mismatch fails through
/// NUnit's <c>Assert.That</c>
/// with a side-by-side table of both sequences, because the default collection diff hides the timing that a
/// reactive test is usually about.
/// </summary>
public static class RecordedAssert
{
    /// <summary>
    /// Asserts that <paramref name="actual"/> has the same items as <paramref name="expected"/>, in order.
    /// Items are compared with their own equality; matching expectations from <see cref="ReactiveTest"/>
    /// (predicates, exception type or message) are honoured.
    /// </summary>
    /// <param name="expected">What the test expects.</param>
    /// <param name="actual">What was recorded.</param>
    /// <param name="message">Optional first line of the failure message, e.g. which stream this is.</param>
    /// <exception cref="AssertionException">The sequences differ.</exception>
    public static void AreEqual<T>(IEnumerable<T> expected, IEnumerable<T> actual, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var e = expected.ToList();
        var a = actual.ToList();
        var differences = new List<string>();
        for (var i = 0; i < Math.Max(e.Count, a.Count); i++)
        {
            if (i >= e.Count || i >= a.Count || !Same(e[i], a[i]))
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture, $"[{i}] expected {Cell(e, i)} but was {Cell(a, i)}"));
            }
        }
        if (differences.Count > 0)
        {
            Assert.That(differences, Is.Empty, Table(e, a, message));
        }
    }

    /// <summary>Asserts that <paramref name="actual"/> equals <paramref name="expected"/> (see <see cref="AreEqual{T}"/>).</summary>
    public static void AssertEqual<T>(this IEnumerable<T> actual, params T[] expected) => AreEqual(expected, actual);

    /// <summary>Asserts that <paramref name="actual"/> equals <paramref name="expected"/> (see <see cref="AreEqual{T}"/>).</summary>
    public static void AssertEqual<T>(this IEnumerable<T> actual, IEnumerable<T> expected) => AreEqual(expected, actual);

    private static bool Same<T>(T expected, T actual) => Matching.AreEqual(expected, actual);

    private static string Cell<T>(List<T> items, int index) =>
        index < items.Count ? NotificationText.Format(items[index]) : "(nothing)";

    private static string Table<T>(List<T> expected, List<T> actual, string? message)
    {
        var width = Math.Max("expected".Length, expected.Count == 0 ? 0 : expected.Max(x => NotificationText.Format(x).Length));
        var text = new StringBuilder();
        if (!string.IsNullOrEmpty(message))
        {
            text.AppendLine(message);
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"Recorded sequences differ (expected {expected.Count} items, actual {actual.Count}):");
        text.AppendLine(CultureInfo.InvariantCulture, $"     #  {"expected".PadRight(width)} | actual");
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var left = i < expected.Count ? NotificationText.Format(expected[i]) : string.Empty;
            var right = i < actual.Count ? NotificationText.Format(actual[i]) : string.Empty;
            var mark = i < expected.Count && i < actual.Count && Same(expected[i], actual[i]) ? "  " : "> ";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {mark}{i,2}  {left.PadRight(width)} | {right}");
        }
        return text.ToString();
    }
}
