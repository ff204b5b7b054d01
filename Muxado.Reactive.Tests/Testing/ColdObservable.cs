using System.Reactive;
using System.Reactive.Disposables;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// A test observable that plays its whole script for each subscriber, with times relative to that subscription,
/// like a request that produces a response sequence. Made by <see cref="TestScheduler.CreateColdObservable{T}"/>.
/// </summary>
/// <remarks>
/// Messages are scheduled when <see cref="Subscribe"/> runs; a message at relative time 0 is queued for the
/// current instant (it is not delivered inside <see cref="Subscribe"/>). Disposing the subscription cancels the
/// messages not yet played.
/// </remarks>
public sealed class ColdObservable<T> : ITestableObservable<T>
{
    private readonly TestScheduler _scheduler;
    private readonly List<Subscription> _subscriptions = [];

    /// <summary>Keeps <paramref name="messages"/> (times relative to each subscription, not negative).</summary>
    public ColdObservable(TestScheduler scheduler, params Recorded<Notification<T>>[] messages)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        _scheduler = scheduler;
        var script = TestObservableScript.Validate(messages, nameof(messages));
        foreach (var message in script)
        {
            if (message.Time < 0)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(messages), message.Time, "A cold observable's times are relative to its subscription and cannot be negative.");
            }
        }
        Messages = Array.AsReadOnly(script);
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
        var pending = new CompositeDisposable(Messages.Count);
        var start = _scheduler.Clock;
        foreach (var message in Messages)
        {
            var notification = message.Value;
            pending.Add(_scheduler.ScheduleAbsolute(start + message.Time, () =>
            {
                if (_subscriptions[index].IsActive)
                {
                    notification.Accept(observer);
                }
            }));
        }
        return Disposable.Create(() =>
        {
            TestObservableScript.Close(_subscriptions, index, _scheduler);
            pending.Dispose();
        });
    }
}
