using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>What happened to a stream, as <see cref="MuxSession.StreamEvents"/> reports it.</summary>
public enum StreamEventKind
{
    /// <summary>The stream was opened: by this side (<see cref="StreamEvent.Local"/>) or by the peer.</summary>
    Opened,

    /// <summary>A stream the peer opened was taken by the application (Incoming or AcceptAsync).</summary>
    Accepted,

    /// <summary>
    /// One direction finished (a FIN): the peer's (<see cref="StreamEvent.ByPeer"/> true) or this side's. Each direction
    /// reports it once; <see cref="Closed"/> follows when both have, or when this side closes the stream.
    /// </summary>
    HalfClosed,

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
/// <param name="ByPeer">For a reset: true when the peer reset the stream; for a half-close: true when the peer finished.</param>
public sealed record StreamEvent(StreamEventKind Kind, uint StreamId, bool Local, ErrorCode? Code = null, bool ByPeer = false);

public sealed partial class MuxSession
{
    private Broadcast<StreamEvent>? _streamEvents; // created by the first watcher, guarded by the session lock

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
    public IObservable<StreamEvent> StreamEvents
    {
        get
        {
            using (Lock.Enter())
            {
                _streamEvents ??= new Broadcast<StreamEvent>(Lock, Scheduler);
                if (_end is not null)
                {
                    _streamEvents.EndLocked(null);
                }
                return _streamEvents;
            }
        }
    }

    /// <summary>Reports an event of <paramref name="stream"/> to every watcher. Under the lock.</summary>
    internal void PublishLocked(StreamEventKind kind, MuxStream stream, ErrorCode? code = null, bool byPeer = false)
    {
        if (_streamEvents is { IsWatchedLocked: true } events)
        {
            events.PublishLocked(new StreamEvent(kind, stream.Id, IsLocalId(stream.Id), code, byPeer));
        }
    }

    private bool IsLocalId(uint id) => (id % 2 == 1) == (Role == SessionRole.Client);

    private void EndStreamEventsLocked() => _streamEvents?.EndLocked(null);
}
