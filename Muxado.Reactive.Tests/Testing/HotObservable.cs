using System.Reactive;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// A test observable whose script runs on absolute virtual time whether or not anyone listens, like a wire
/// that carries frames regardless of subscribers. Made by <see cref="TestScheduler.CreateHotObservable{T}"/>.
/// </summary>
/// <remarks>
/// Each message is scheduled when the observable is created. A message due before the clock at creation is
/// dropped (it happened before anyone could subscribe); one due exactly at that clock still plays. At an instant
/// where a message and a subscription are both due, whichever was scheduled first runs first.
/// </remarks>
public sealed class HotObservable<T> : ITestableObservable<T>
{
    private readonly TestScheduler _scheduler;
    private readonly List<Subscription> _subscriptions = [];
    private readonly List<(IObserver<T> Observer, int Index)> _observers = [];

    /// <summary>Schedules <paramref name="messages"/> (absolute times) on <paramref name="scheduler"/>.</summary>
    public HotObservable(TestScheduler scheduler, params Recorded<Notification<T>>[] messages)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        _scheduler = scheduler;
        var script = TestObservableScript.Validate(messages, nameof(messages));
        Messages = Array.AsReadOnly(script);
        foreach (var message in script)
        {
            if (message.Time < scheduler.Clock)
            {
                continue;
            }
            var notification = message.Value;
            scheduler.ScheduleAbsolute(message.Time, () => Play(notification));
        }
    }

    /// <inheritdoc />
    public IList<Subscription> Subscriptions => _subscriptions;

    /// <inheritdoc />
    public IList<Recorded<Notification<T>>> Messages { get; }

    /// <inheritdoc />
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var index = TestObservableScript.Open(_subscriptions, _scheduler);
        var entry = (observer, index);
        _observers.Add(entry);
        return Disposable.Create(() =>
        {
            _observers.Remove(entry);
            TestObservableScript.Close(_subscriptions, index, _scheduler);
        });
    }

    private void Play(Notification<T> notification)
    {
        // Snapshot, and skip observers disposed by an earlier observer's reaction to this same message.
        foreach (var (observer, index) in _observers.ToArray())
        {
            if (_subscriptions[index].IsActive)
            {
                notification.Accept(observer);
            }
        }
    }
}
