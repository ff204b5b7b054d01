using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Factory methods for recorded notifications and subscriptions, plus the default times used by
/// <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/>. Import with <c>using static</c> so tests read
/// like a timeline: <c>OnNext(210, 1), OnCompleted&lt;int&gt;(250)</c>.
/// </summary>
public static class ReactiveTest
{
    /// <summary>Default virtual time at which <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/> creates the observable.</summary>
    public const long Created = 100;

    /// <summary>Default virtual time at which <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/> subscribes.</summary>
    public const long Subscribed = 200;

    /// <summary>Default virtual time at which <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/> disposes the subscription.</summary>
    public const long Disposed = 1000;

    /// <summary>An OnNext of <paramref name="value"/> at <paramref name="ticks"/>; compared with the value's equality.</summary>
    public static Recorded<Notification<T>> OnNext<T>(long ticks, T value) =>
        new(ticks, Notification.CreateOnNext(value));

    /// <summary>
    /// Expects an OnNext at <paramref name="ticks"/> whose value satisfies <paramref name="predicate"/>.
    /// Expectation only: a test observable refuses to replay it.
    /// </summary>
    public static Recorded<Notification<T>> OnNext<T>(long ticks, Func<T, bool> predicate) =>
        new(ticks, new OnNextMatching<T>(predicate));

    /// <summary>An OnCompleted at <paramref name="ticks"/>.</summary>
    public static Recorded<Notification<T>> OnCompleted<T>(long ticks) =>
        new(ticks, Notification.CreateOnCompleted<T>());

    /// <summary>
    /// An OnError of <paramref name="error"/> at <paramref name="ticks"/>. Replayed as that exception; as an
    /// expectation it matches any exception of exactly the same type with the same message (Rx's own OnError
    /// would demand the very same object, which a test rarely has).
    /// </summary>
    public static Recorded<Notification<T>> OnError<T>(long ticks, Exception error) =>
        new(ticks, OnErrorMatching<T>.Like(error));

    /// <summary>
    /// Expects an OnError at <paramref name="ticks"/> whose exception is an instance of
    /// <paramref name="exceptionType"/> or a type derived from it. Expectation only.
    /// </summary>
    public static Recorded<Notification<T>> OnError<T>(long ticks, Type exceptionType) =>
        new(ticks, OnErrorMatching<T>.OfType(exceptionType));

    /// <summary>Expects an OnError at <paramref name="ticks"/> whose exception satisfies <paramref name="predicate"/>. Expectation only.</summary>
    public static Recorded<Notification<T>> OnError<T>(long ticks, Func<Exception, bool> predicate) =>
        new(ticks, OnErrorMatching<T>.Where(predicate));

    /// <summary>A subscription made at <paramref name="start"/> and disposed at <paramref name="end"/>.</summary>
    public static Subscription Subscribe(long start, long end) => new(start, end);

    /// <summary>A subscription made at <paramref name="start"/> and never disposed.</summary>
    public static Subscription Subscribe(long start) => new(start);
}
