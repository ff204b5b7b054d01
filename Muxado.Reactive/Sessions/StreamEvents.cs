using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>What happened to a stream, as <see cref="MuxSession.StreamEvents"/> reports it.</summary>
public enum StreamEventKind
{
    /// <summary>The stream was opened: by this side (<see cref="StreamEvent.Local"/>) or by the peer.</summary>
    Opened,

    /// <summary>A stream the peer opened was taken by the application (Incoming or AcceptAsync).</summary>
    Accepted,

    /// <summary>The stream is over without a reset: both sides finished, or this side closed it.</summary>
    Closed,

    /// <summary>The stream was reset (<see cref="StreamEvent.Code"/>, <see cref="StreamEvent.ByPeer"/>).</summary>
    Reset,
}

/// <summary>One event of a stream's life.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="StreamId">The stream.</param>
/// <param name="Local">True when this side opened the stream.</param>
/// <param name="Code">The reset code, for <see cref="StreamEventKind.Reset"/>.</param>
/// <param name="ByPeer">For a reset: true when the peer reset the stream.</param>
public sealed record StreamEvent(StreamEventKind Kind, uint StreamId, bool Local, ErrorCode? Code = null, bool ByPeer = false);

public sealed partial class MuxSession
{
    private List<StreamEventFeed>? _eventFeeds; // guarded by the session lock

    /// <summary>
    /// The life of every stream of the session, as it happens: opened, accepted, closed, reset. Hot: a subscriber sees
    /// what happens after it subscribed; watching takes nothing (streams still go to <see cref="Incoming"/> or
    /// <see cref="AcceptAsync"/>). Completes when the session ends.
    /// </summary>
    /// <remarks>
    /// Each subscriber has its own queue, delivered on the session's scheduler, so a slow one delays only itself; what it
    /// has not yet been handed stays in memory, so keep a watcher quick (or hand events on with <c>ObserveOn</c>).
    /// Nothing is recorded while nobody watches.
    /// </remarks>
    public IObservable<StreamEvent> StreamEvents => new StreamEventsObservable(this);

    /// <summary>Reports an event of <paramref name="stream"/> to every watcher. Under the lock.</summary>
    internal void PublishLocked(StreamEventKind kind, MuxStream stream, ErrorCode? code = null, bool byPeer = false)
    {
        if (_eventFeeds is not { Count: > 0 })
        {
            return;
        }
        var e = new StreamEvent(kind, stream.Id, IsLocalId(stream.Id), code, byPeer);
        foreach (var feed in _eventFeeds)
        {
            feed.PublishLocked(e);
        }
    }

    private bool IsLocalId(uint id) => (id % 2 == 1) == (Role == SessionRole.Client);

    private void EndStreamEventsLocked()
    {
        if (_eventFeeds is null)
        {
            return;
        }
        foreach (var feed in _eventFeeds)
        {
            feed.EndLocked();
        }
        _eventFeeds = null;
    }

    /// <summary>One watcher's queue of events.</summary>
    private sealed class StreamEventFeed(MuxSession session) : ObserverDrain<StreamEvent>(session.Lock, session.Scheduler)
    {
        private readonly Queue<StreamEvent> _events = new();
        private bool _ended;

        public void PublishLocked(StreamEvent e)
        {
            _events.Enqueue(e);
            SignalLocked();
        }

        public void EndLocked()
        {
            _ended = true;
            SignalLocked();
        }

        protected override Next<StreamEvent> TakeLocked() =>
            _events.TryDequeue(out var e) ? Next<StreamEvent>.Of(e)
            : _ended ? Next<StreamEvent>.End(null)
            : Next<StreamEvent>.Nothing;

        // A watcher that throws is detached and hears nothing more; the streams are not its to reset.
        protected override void OnObserverFaulted(StreamEvent item, Exception error)
        {
        }

        protected override void OnDetachedLocked()
        {
            _events.Clear();
            session._eventFeeds?.Remove(this);
        }
    }

    private sealed class StreamEventsObservable(MuxSession session) : IObservable<StreamEvent>
    {
        public IDisposable Subscribe(IObserver<StreamEvent> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            var feed = new StreamEventFeed(session);
            using (session.Lock.Enter())
            {
                if (session._end is not null)
                {
                    feed.EndLocked();
                }
                else
                {
                    (session._eventFeeds ??= []).Add(feed);
                }
            }
            return (IDisposable?)feed.Attach(observer, "unreachable: a new feed has no observer") ?? System.Reactive.Disposables.Disposable.Empty;
        }
    }
}
