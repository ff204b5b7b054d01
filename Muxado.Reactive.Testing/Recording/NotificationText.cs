using System.Globalization;
using System.Reactive;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Renders recorded values for failure messages. Rx's own OnError text shows only the exception type, and
/// Microsoft.Reactive.Testing's predicate expectations print their class name; a failure is far easier to read
/// with the exception's message and <c>&lt;predicate&gt;</c>, so notifications are formatted here.
/// </summary>
internal static class NotificationText
{
    /// <summary>Formats a notification as <c>OnNext(..)</c>, <c>OnError(Type: message)</c> or <c>OnCompleted()</c>.</summary>
    public static string Format<T>(Notification<T> notification) => Format(notification, v => Value(v));

    /// <summary>Formats a notification, its value with <paramref name="value"/>.</summary>
    public static string Format<T>(Notification<T> notification, Func<T, string> value)
    {
        ArgumentNullException.ThrowIfNull(notification);
        if (NotificationMatching.IsPredicate(notification))
        {
            return notification.GetType().Name.StartsWith("OnError", StringComparison.Ordinal) ? "OnError(<predicate>)" : "OnNext(<predicate>)";
        }
        return notification.Kind switch
        {
            NotificationKind.OnNext => $"OnNext({value(notification.Value)})",
            NotificationKind.OnError => $"OnError({Format(notification.Exception)})",
            _ => "OnCompleted()",
        };
    }

    /// <summary>Formats a recorded notification as <c>OnNext(42)@210</c>.</summary>
    public static string Format<T>(Recorded<Notification<T>> recorded, Func<T, string> value) =>
        string.Create(CultureInfo.InvariantCulture, $"{Format(recorded.Value, value)}@{recorded.Time}");

    /// <summary>Formats an exception as <c>Type: message</c>.</summary>
    public static string Format(Exception? error) =>
        error is null ? "null" : $"{error.GetType().Name}: {error.Message}";

    /// <summary>Formats a subscription as <c>(200, 1000)</c> or <c>(200, never)</c>.</summary>
    public static string Format(Subscription subscription) => string.Create(
        CultureInfo.InvariantCulture,
        $"({subscription.Subscribe}, {(subscription.Unsubscribe == Subscription.Infinite ? "never" : subscription.Unsubscribe.ToString(CultureInfo.InvariantCulture))})");

    /// <summary>Formats any value with the invariant culture.</summary>
    public static string Value<T>(T value) => value is null ? "null" : Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
}
