using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// The recording observer handed out by <see cref="TestScheduler.CreateObserver{T}"/>: stamps each notification
/// with the scheduler's clock. It records everything, even after a terminal notification, so a test can catch an
/// operator that breaks the Rx grammar.
/// </summary>
public sealed class TestObserver<T> : ITestableObserver<T>
{
    private readonly TestScheduler _scheduler;
    private readonly List<Recorded<Notification<T>>> _messages = [];

    /// <summary>Creates an observer that reads the time from <paramref name="scheduler"/>.</summary>
    public TestObserver(TestScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        _scheduler = scheduler;
    }

    /// <inheritdoc />
    public IList<Recorded<Notification<T>>> Messages => _messages;

    /// <inheritdoc />
    public void OnNext(T value) => _messages.Add(new(_scheduler.Clock, Notification.CreateOnNext(value)));

    /// <inheritdoc />
    public void OnError(Exception error) => _messages.Add(new(_scheduler.Clock, Notification.CreateOnError<T>(error)));

    /// <inheritdoc />
    public void OnCompleted() => _messages.Add(new(_scheduler.Clock, Notification.CreateOnCompleted<T>()));
}
