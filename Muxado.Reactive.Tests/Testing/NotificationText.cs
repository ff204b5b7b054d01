using System.Globalization;
using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Renders recorded values for assertion messages. Rx's own OnError text shows only the exception type; a test
/// failure is far easier to read with the message too, so notifications are formatted here.
/// </summary>
internal static class NotificationText
{
    /// <summary>Formats any recorded value, giving notifications an <c>OnNext(..)/OnError(..)/OnCompleted()</c> form.</summary>
    public static string Format<T>(T value) => value switch
    {
        null => "null",
        IExpectation own => own.Describe(),
        _ when IsNotification(value.GetType()) => FormatNotification(value),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    /// <summary>Formats an exception as <c>Type: message</c>.</summary>
    public static string Format(Exception? error) =>
        error is null ? "null" : $"{error.GetType().Name}: {error.Message}";

    private static bool IsNotification(Type type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Notification<>))
            {
                return true;
            }
        }
        return false;
    }

    private static string FormatNotification(object notification)
    {
        // Kind, Value and Exception are declared on the generic base; read them without knowing T.
        var type = notification.GetType();
        var kind = (NotificationKind)type.GetProperty(nameof(Notification<int>.Kind))!.GetValue(notification)!;
        return kind switch
        {
            NotificationKind.OnNext => $"OnNext({Format(type.GetProperty(nameof(Notification<int>.Value))!.GetValue(notification))})",
            NotificationKind.OnError => $"OnError({Format((Exception?)type.GetProperty(nameof(Notification<int>.Exception))!.GetValue(notification))})",
            _ => "OnCompleted()",
        };
    }
}
