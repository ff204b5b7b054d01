using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Base of the expectation-only notifications made by <see cref="ReactiveTest"/>: they match a class of real
/// notifications (by predicate, exception type, ...) rather than one value. Most of them cannot be replayed by a
/// test observable, so <c>Accept</c> fails loudly instead of inventing a value.
/// </summary>
internal abstract class MatchingNotification<T> : Notification<T>, IExpectation
{
    /// <summary>Whether <see cref="Deliver"/> can replay this notification to an observer.</summary>
    public virtual bool IsReplayable => false;

    /// <inheritdoc />
    public abstract string Describe();

    /// <summary>True when <paramref name="actual"/> is a notification this expectation accepts.</summary>
    protected abstract bool Matches(Notification<T> actual);

    /// <summary>Replays the notification through the matching callback; fails unless <see cref="IsReplayable"/>.</summary>
    protected virtual TResult Deliver<TResult>(Func<T, TResult> onNext, Func<Exception, TResult> onError, Func<TResult> onCompleted) =>
        throw NotReplayable();

    /// <inheritdoc />
    public override bool Equals(Notification<T>? other) =>
        other is not null &&
        (ReferenceEquals(this, other) || ((other is not MatchingNotification<T> m || m.IsReplayable) && Matches(other)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Notification<T>);

    /// <summary>Only the kind is hashed: a predicate cannot produce a hash consistent with equality.</summary>
    public override int GetHashCode() => Kind.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => Describe();

    /// <inheritdoc />
    public override void Accept(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        Accept(observer.OnNext, observer.OnError, observer.OnCompleted);
    }

    /// <inheritdoc />
    public override TResult Accept<TResult>(IObserver<T, TResult> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        return Deliver(observer.OnNext, observer.OnError, observer.OnCompleted);
    }

    /// <inheritdoc />
    public override void Accept(Action<T> onNext, Action<Exception> onError, Action onCompleted) =>
        Deliver<bool>(
            v => { onNext(v); return true; },
            e => { onError(e); return true; },
            () => { onCompleted(); return true; });

    /// <inheritdoc />
    public override TResult Accept<TResult>(Func<T, TResult> onNext, Func<Exception, TResult> onError, Func<TResult> onCompleted) =>
        Deliver(onNext, onError, onCompleted);

    /// <summary>The error thrown when an expectation-only notification is asked to replay itself.</summary>
    protected InvalidOperationException NotReplayable() =>
        new($"{Describe()} is an expectation, not an event: it matches notifications but cannot be replayed by a test observable.");
}
