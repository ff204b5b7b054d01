using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Shared checks and bookkeeping of hot and cold test observables: validating the script and recording
/// subscription lifetimes.
/// </summary>
internal static class TestObservableScript
{
    /// <summary>Copies the script, refusing expectation-only notifications that could not be replayed.</summary>
    public static Recorded<Notification<T>>[] Validate<T>(Recorded<Notification<T>>[] messages, string paramName)
    {
        ArgumentNullException.ThrowIfNull(messages, paramName);
        foreach (var message in messages)
        {
            if (message.Value is null)
            {
                throw new ArgumentException($"The message at {message.Time} has no notification.", paramName);
            }
            if (message.Value is MatchingNotification<T> { IsReplayable: false } matcher)
            {
                throw new ArgumentException(
                    $"{matcher.Describe()} at {message.Time} is an expectation and cannot be played by a test observable.",
                    paramName);
            }
        }
        return (Recorded<Notification<T>>[])messages.Clone();
    }

    /// <summary>Records a new subscription at the current clock and returns its index.</summary>
    public static int Open(List<Subscription> subscriptions, TestScheduler scheduler)
    {
        subscriptions.Add(new Subscription(scheduler.Clock));
        return subscriptions.Count - 1;
    }

    /// <summary>Stamps the subscription at <paramref name="index"/> as disposed now (once).</summary>
    public static void Close(List<Subscription> subscriptions, int index, TestScheduler scheduler)
    {
        var subscription = subscriptions[index];
        if (subscription.IsActive)
        {
            subscriptions[index] = new Subscription(subscription.Subscribe, scheduler.Clock);
        }
    }
}
