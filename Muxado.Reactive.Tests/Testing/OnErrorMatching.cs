using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Expects an OnError by what the exception is (type and message, a type, or a predicate) rather than by object
/// identity, which is all Rx's own OnError notification compares. When built from an exception it can also be
/// replayed, so the same recording serves as input to a test observable and as an expectation.
/// </summary>
internal sealed class OnErrorMatching<T> : MatchingNotification<T>
{
    private readonly Func<Exception, bool> _predicate;
    private readonly string _description;

    private OnErrorMatching(Exception? error, Func<Exception, bool> predicate, string description)
    {
        Exception = error;
        _predicate = predicate;
        _description = description;
    }

    /// <summary>Replays <paramref name="error"/>; matches any exception of exactly its type with the same message.</summary>
    public static OnErrorMatching<T> Like(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new OnErrorMatching<T>(
            error,
            e => ReferenceEquals(e, error) || (e.GetType() == error.GetType() && e.Message == error.Message),
            $"OnError({NotificationText.Format(error)})");
    }

    /// <summary>Matches any exception that is an instance of <paramref name="type"/> (or derives from it).</summary>
    public static OnErrorMatching<T> OfType(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!typeof(Exception).IsAssignableFrom(type))
        {
            throw new ArgumentException($"{type} is not an exception type.", nameof(type));
        }
        return new OnErrorMatching<T>(null, type.IsInstanceOfType, $"OnError({type.Name} or derived)");
    }

    /// <summary>Matches any exception satisfying <paramref name="predicate"/>.</summary>
    public static OnErrorMatching<T> Where(Func<Exception, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new OnErrorMatching<T>(null, predicate, "OnError(<predicate>)");
    }

    /// <inheritdoc />
    public override NotificationKind Kind => NotificationKind.OnError;

    /// <inheritdoc />
    public override bool HasValue => false;

    /// <inheritdoc />
    public override T Value => throw new InvalidOperationException("An OnError notification has no value.");

    /// <summary>The exception replayed by a test observable; null for the type and predicate forms.</summary>
    public override Exception? Exception { get; }

    /// <inheritdoc />
    public override bool IsReplayable => Exception is not null;

    /// <inheritdoc />
    public override string Describe() => _description;

    /// <inheritdoc />
    protected override bool Matches(Notification<T> actual) =>
        actual.Kind == NotificationKind.OnError && actual.Exception is not null && _predicate(actual.Exception);

    /// <inheritdoc />
    protected override TResult Deliver<TResult>(Func<T, TResult> onNext, Func<Exception, TResult> onError, Func<TResult> onCompleted) =>
        Exception is null ? throw NotReplayable() : onError(Exception);
}
