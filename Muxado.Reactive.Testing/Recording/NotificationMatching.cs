using System.Reactive;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// When an expected notification matches a recorded one. Values compare with their own equality (a
/// <see cref="Frames.Frame"/> by its bytes), Microsoft.Reactive.Testing's predicate expectations
/// (<c>OnNext(ticks, x =&gt; ...)</c>, <c>OnError(ticks, e =&gt; ...)</c>) are asked, and errors match by type and
/// message as well as by identity: Rx's own OnError equality demands the very same exception object, which a test
/// rarely has.
/// </summary>
internal static class NotificationMatching
{
    /// <summary>True when <paramref name="actual"/> is what <paramref name="expected"/> describes.</summary>
    public static bool Matches<T>(Notification<T> expected, Notification<T> actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        // The expected side decides: a predicate notification's Equals runs its predicate on the other side.
        if (expected.Equals(actual))
        {
            return true;
        }
        return !IsPredicate(expected) && !IsPredicate(actual) &&
            expected.Kind == NotificationKind.OnError && actual.Kind == NotificationKind.OnError &&
            expected.Exception!.GetType() == actual.Exception!.GetType() &&
            expected.Exception.Message == actual.Exception.Message;
    }

    /// <summary>
    /// True for Microsoft.Reactive.Testing's predicate expectations, which cannot be replayed and whose
    /// <see cref="Notification{T}.Kind"/> throws; they are the classes nested in <see cref="ReactiveTest"/>.
    /// </summary>
    public static bool IsPredicate<T>(Notification<T> notification) => notification.GetType().DeclaringType == typeof(ReactiveTest);
}
