using System.Runtime.CompilerServices;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    private const string WatchInstead = " Use StreamEvents to watch streams arrive without taking them.";

    // Streams the peer opened and no taker has yet. The takers are one Incoming subscriber or the AcceptAsync callers.
    private HandOffQueue<MuxStream>? _accepted;

    private HandOffQueue<MuxStream> Accepted => _accepted ??= new HandOffQueue<MuxStream>(Lock, Scheduler, new(
        Taken: stream => PublishLocked(StreamEventKind.Accepted, stream),
        // Contained like a throwing stream observer: the stream it was handed is reset, the session goes on.
        ObserverFaulted: stream => stream.Reset(ErrorCode.InternalError),
        ObserverConflict: "The session's incoming streams are taken by pending AcceptAsync calls; Incoming and AcceptAsync cannot be used at the same time." + WatchInstead,
        CallerConflict: "The session's incoming streams are taken by an Incoming subscriber; Incoming and AcceptAsync cannot be used at the same time." + WatchInstead,
        SecondObserver: "Incoming already has a subscriber; each stream is taken once." + WatchInstead));

    /// <summary>
    /// The streams the peer opens, each handed out once. One subscriber at a time: a second one (or one while
    /// <see cref="AcceptAsync"/> calls wait) gets <c>OnError</c> with an <see cref="InvalidOperationException"/>; watch
    /// arrivals with <see cref="StreamEvents"/> instead. Completes when the session ends cleanly, fails with
    /// <see cref="MuxadoSessionException"/> otherwise, after the streams that arrived before the end.
    /// </summary>
    /// <remarks>
    /// <para>Delivered on <see cref="MuxSessionOptions.Scheduler"/>, never on the transport's reader. While a subscriber
    /// is attached, every stream the peer opens is handed to it and none counts against
    /// <see cref="MuxSessionOptions.AcceptBacklog"/>; streams that arrive while nobody takes them wait in the backlog,
    /// and beyond it are refused with RST AcceptQueueFull. A subscriber that unsubscribes leaves the streams not yet
    /// handed to it for the next taker. An <c>OnNext</c> that throws resets the stream it was given with
    /// <see cref="ErrorCode.InternalError"/> and detaches the subscriber.</para>
    /// </remarks>
    public IObservable<MuxStream> Incoming
    {
        get
        {
            using (Lock.Enter())
            {
                return Accepted.AsObservable();
            }
        }
    }

    /// <summary>Waits for the next stream the peer opens; concurrent callers are served in order.</summary>
    /// <exception cref="MuxadoSessionException">The session ended.</exception>
    /// <exception cref="InvalidOperationException">An <see cref="Incoming"/> subscriber takes the streams.</exception>
    public Task<MuxStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        HandOffQueue<MuxStream> accepted;
        using (Lock.Enter())
        {
            accepted = Accepted;
        }
        return accepted.TakeAsync(cancellationToken);
    }

    /// <summary>The streams the peer opens, as an async sequence; ends when the session ends cleanly.</summary>
    public async IAsyncEnumerable<MuxStream> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            MuxStream stream;
            try
            {
                stream = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (MuxadoSessionException ex) when (ex.End.IsClean)
            {
                yield break;
            }
            yield return stream;
        }
    }

    /// <summary>
    /// The peer opened stream <paramref name="id"/>: it goes to a taker, or waits in the backlog; null when nobody takes
    /// streams and the backlog is full (the core refuses it with AcceptQueueFull). Under the lock.
    /// </summary>
    private MuxStream? AdmitRemoteStreamLocked(uint id)
    {
        var accepted = Accepted;
        if (!accepted.IsObservedLocked && !accepted.HasWaitersLocked && accepted.CountLocked >= Options.AcceptBacklog)
        {
            Telemetry.LimitHitLocked(Protocol.SessionLimit.AcceptBacklog, id);
            return null;
        }
        var stream = new MuxStream(this) { Id = id };
        (_live ??= []).Add(stream);
        Telemetry.StreamStartedLocked(local: false);
        PublishLocked(StreamEventKind.Opened, stream);
        accepted.EnqueueLocked(stream);
        return stream;
    }

    /// <summary>
    /// A stream reset before anyone took it leaves the backlog (untyped or typed): it is of no use to the application, and
    /// keeping it would let a peer fill the backlog with dead streams. Under the lock.
    /// </summary>
    internal void RemoveFromAcceptQueueLocked(MuxStream stream)
    {
        _accepted?.RemoveLocked(s => ReferenceEquals(s, stream));
        _typed?.RemoveLocked(t => ReferenceEquals(t.Stream, stream));
    }

    /// <summary>The session ended: waiting accepts fail; the Incoming subscriber gets the queued streams, then the end.</summary>
    private void EndAcceptingLocked(MuxadoSessionException error)
    {
        Accepted.EndLocked(error, error.End.IsClean ? null : error);
        EndStreamEventsLocked();
    }
}
