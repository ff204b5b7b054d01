using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Expects an OnNext whose value satisfies a predicate; for values that have no useful equality or whose
/// exact value a test does not care about.
/// </summary>
internal sealed class OnNextMatching<T> : MatchingNotification<T>
{
    private readonly Func<T, bool> _predicate;

    /// <summary>Matches OnNext notifications whose value satisfies <paramref name="predicate"/>.</summary>
    public OnNextMatching(Func<T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        _predicate = predicate;
    }

    /// <inheritdoc />
    public override NotificationKind Kind => NotificationKind.OnNext;

    /// <inheritdoc />
    public override bool HasValue => false;

    /// <inheritdoc />
    public override T Value => throw new InvalidOperationException("An OnNext predicate has no value.");

    /// <inheritdoc />
    public override Exception? Exception => null;

    /// <inheritdoc />
    public override string Describe() => "OnNext(<predicate>)";

    /// <inheritdoc />
    protected override bool Matches(Notification<T> actual) =>
        actual.Kind == NotificationKind.OnNext && _predicate(actual.Value);
}
