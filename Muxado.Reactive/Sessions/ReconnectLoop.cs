using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive;

/// <summary>
/// One subscription's reconnect loop: connect, hand out the session, wait for its end, back off, connect again.
/// </summary>
/// <remarks>
/// The loop is a chain of work items on the session's scheduler, one step at a time (connect, its result, the session's
/// end, the backoff timer), so its notifications never overlap whatever the scheduler. The lock guards only the
/// stopped flag and the current session against <see cref="Dispose"/> from another thread; the connect delegate, the
/// observer and the session's own calls all run outside it.
/// </remarks>
internal sealed class ReconnectLoop : IDisposable
{
    private readonly Func<CancellationToken, Task<FrameTransport>> _connect;
    private readonly ReconnectOptions _options;
    private readonly IObserver<ReconnectEvent> _observer;
    private readonly IScheduler _scheduler;
    // Never disposed: a connect still running may hold its token, and a cancelled source owns no timer or handle.
    private readonly CancellationTokenSource _stop = new();
    // The one thing the loop waits for: the next attempt's timer, or the current session's end.
    private readonly SerialDisposable _waiting = new();
    private readonly Lock _gate = new();
    private MuxSession? _current;
    private bool _stopped;
    // Touched only by the chain of work items, never concurrently.
    private int _attempt;

    private ReconnectLoop(Func<CancellationToken, Task<FrameTransport>> connect, ReconnectOptions options, IObserver<ReconnectEvent> observer)
    {
        _connect = connect;
        _options = options;
        _observer = observer;
        _scheduler = options.Session.Scheduler;
    }

    public static IObservable<ReconnectEvent> Create(Func<CancellationToken, Task<FrameTransport>> connect, ReconnectOptions options) =>
        Observable.Create<ReconnectEvent>(observer =>
        {
            var loop = new ReconnectLoop(connect, options, observer);
            loop.ScheduleAttempt(TimeSpan.Zero);
            return loop;
        });

    private bool Stopped
    {
        get
        {
            lock (_gate)
            {
                return _stopped;
            }
        }
    }

    public void Dispose()
    {
        MuxSession? current;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            current = _current;
            _current = null;
        }
        _waiting.Dispose();
        _stop.Cancel();
        if (current is not null)
        {
            // Started, not awaited: Dispose is synchronous; the session's Completion says when it is closed.
            _ = current.DisposeAsync().AsTask();
        }
    }

    private void ScheduleAttempt(TimeSpan delay) => _waiting.Disposable = _scheduler.Schedule(delay, Attempt);

    private void Attempt()
    {
        if (Stopped)
        {
            return;
        }
        _attempt++;
        Task<FrameTransport> connecting;
        try
        {
            connecting = _connect(_stop.Token)
                ?? Task.FromException<FrameTransport>(new InvalidOperationException("The connect delegate returned null instead of a task."));
        }
        catch (Exception e)
        {
            // The delegate is user code: whatever it throws is a reason to retry, like a faulted task.
            connecting = Task.FromException<FrameTransport>(e);
        }
        connecting.ContinueWith(
            static (task, state) => ((ReconnectLoop)state!).OnConnectFinished(task),
            this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // On whatever thread completed the connect: go back to the scheduler, where the observer is called. Not through
    // _waiting, so that a stop cannot cancel the hop and leak a transport that has just connected.
    private void OnConnectFinished(Task<FrameTransport> connecting) =>
        _scheduler.Schedule(connecting, (_, task) =>
        {
            Connected(task);
            return Disposable.Empty;
        });

    private void Connected(Task<FrameTransport> connecting)
    {
        var transport = connecting.IsCompletedSuccessfully ? connecting.Result : null;
        if (Stopped)
        {
            if (transport is not null)
            {
                _ = transport.DisposeAsync().AsTask();
            }
            return;
        }
        if (transport is null)
        {
            Failed(ErrorOf(connecting));
            return;
        }
        MuxSession session;
        try
        {
            session = _options.Role == SessionRole.Client
                ? MuxSession.Client(transport, _options.Session)
                : MuxSession.Server(transport, _options.Session);
        }
        catch (Exception e)
        {
            _ = transport.DisposeAsync().AsTask();
            Failed(e);
            return;
        }
        bool stopped;
        lock (_gate)
        {
            stopped = _stopped;
            if (!stopped)
            {
                _current = session;
            }
        }
        if (stopped)
        {
            _ = session.DisposeAsync().AsTask();
            return;
        }
        var attempt = _attempt;
        _attempt = 0;
        _observer.OnNext(new ReconnectEvent.Connected(session, attempt));
        // Ended notifies on the scheduler, never inside Subscribe.
        _waiting.Disposable = session.Ended.Subscribe(end => SessionEnded(session, end));
    }

    private void SessionEnded(MuxSession session, SessionEnd end)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            _current = null;
        }
        var delay = _options.DelayAfter(1);
        _observer.OnNext(new ReconnectEvent.SessionEnded(session, end, delay));
        ScheduleAttempt(delay);
    }

    private void Failed(Exception error)
    {
        if (_options.MaxAttempts is { } max && _attempt >= max)
        {
            _observer.OnNext(new ReconnectEvent.ConnectFailed(error, _attempt, null));
            _observer.OnError(error);
            return;
        }
        var delay = _options.DelayAfter(_attempt);
        _observer.OnNext(new ReconnectEvent.ConnectFailed(error, _attempt, delay));
        ScheduleAttempt(delay);
    }

    private static Exception ErrorOf(Task<FrameTransport> connecting) => connecting switch
    {
        { IsFaulted: true, Exception: { InnerExceptions.Count: 1 } aggregate } => aggregate.InnerExceptions[0],
        { IsFaulted: true, Exception: { } aggregate } => aggregate,
        { IsCanceled: true } => new OperationCanceledException("The connect was cancelled."),
        _ => new InvalidOperationException("The connect delegate's task returned no transport (null)."),
    };
}
