using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// An observable that plays a fixed script of notifications on a <see cref="TestScheduler"/> and records when it
/// was subscribed to and unsubscribed from.
/// </summary>
public interface ITestableObservable<T> : IObservable<T>
{
    /// <summary>Every subscription made so far, in order; disposal fills in <see cref="Subscription.Unsubscribe"/>.</summary>
    IList<Subscription> Subscriptions { get; }

    /// <summary>The script this observable plays (absolute times for hot, relative to subscription for cold).</summary>
    IList<Recorded<Notification<T>>> Messages { get; }
}
