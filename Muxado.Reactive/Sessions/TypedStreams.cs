using System.Buffers.Binary;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>A stream of the typed-stream extension: its opener's first 4 bytes (big-endian) name its type.</summary>
/// <param name="Type">The stream type.</param>
/// <param name="Stream">The stream, positioned after the type.</param>
public sealed record TypedStream(uint Type, MuxStream Stream);

public sealed partial class MuxSession
{
    /// <summary>The stream type the heartbeat extension uses.</summary>
    public const uint HeartbeatStreamType = 0xFFFFFFFF;

    // Typed accepting: once asked for, an internal taker of Incoming reads each stream's type on its own (with a deadline),
    // so that a stream that never sends its type holds up nothing else. All guarded by the session lock.
    private HandOffQueue<TypedStream>? _typed;
    private int _typesBeingRead;
    private bool _untypedEnded;

    /// <summary>Opens a typed stream: the type goes out as the first 4 bytes, in one DATA frame.</summary>
    /// <remarks>Go's acceptor takes the type from a single read, so the 4 bytes never straddle two frames.</remarks>
    public async ValueTask<MuxStream> OpenTypedAsync(uint type, CancellationToken cancellationToken = default)
    {
        var stream = Open();
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, type);
        try
        {
            await stream.WriteCoreAsync(prefix, blocking: false, whole: true, resetIfCancelledPartWay: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MuxadoException)
        {
            // A typed stream without its type would hold up the peer's typed accept: never leave one open.
            stream.Reset(ErrorCode.StreamCancelled);
            throw;
        }
        return stream;
    }

    /// <summary>
    /// Accepts the next typed stream whose 4-byte type has arrived (it may arrive split across frames). Heartbeat streams
    /// are answered by the responder and never returned (see <see cref="MuxSessionOptions.RespondToHeartbeats"/>).
    /// </summary>
    /// <remarks>
    /// Typed accepting takes the session's incoming streams (as an <see cref="Incoming"/> subscriber would) from the first
    /// call on. Each stream's type is read on its own, within <see cref="MuxSessionOptions.TypeReadTimeout"/>; a stream
    /// whose type does not come in time is reset with <see cref="ErrorCode.StreamCancelled"/>, and streams beyond
    /// <see cref="MuxSessionOptions.AcceptBacklog"/> that nobody takes are reset with <see cref="ErrorCode.AcceptQueueFull"/>.
    /// </remarks>
    /// <exception cref="MuxadoSessionException">The session ended.</exception>
    /// <exception cref="InvalidOperationException">Untyped accepting (<see cref="Incoming"/>, <see cref="AcceptAsync"/>) takes the streams.</exception>
    public Task<TypedStream> AcceptTypedAsync(CancellationToken cancellationToken = default) => StartTypedAccepting().TakeAsync(cancellationToken);

    /// <summary>
    /// The typed streams the peer opens, as an Rx sequence for one subscriber at a time (heartbeat streams answered and
    /// hidden), on the session's scheduler. See <see cref="AcceptTypedAsync"/> for how types are read.
    /// </summary>
    public IObservable<TypedStream> IncomingTyped => Observable.Defer(() => StartTypedAccepting().AsObservable());

    private HandOffQueue<TypedStream> StartTypedAccepting()
    {
        HandOffQueue<TypedStream> typed;
        bool start = false;
        using (Lock.Enter())
        {
            if (_typed is null)
            {
                _typed = new HandOffQueue<TypedStream>(Lock, Scheduler, new(
                    Taken: _ => { },
                    ObserverFaulted: t => t.Stream.Reset(ErrorCode.InternalError),
                    ObserverConflict: "Typed streams are taken by pending AcceptTypedAsync calls; IncomingTyped and AcceptTypedAsync cannot be used at the same time.",
                    CallerConflict: "Typed streams are taken by an IncomingTyped subscriber; IncomingTyped and AcceptTypedAsync cannot be used at the same time.",
                    SecondObserver: "IncomingTyped already has a subscriber; each stream is taken once."));
                start = true;
            }
            typed = _typed;
        }
        if (start)
        {
            // The typed taker lives as long as the session: it ends when Incoming ends.
            Incoming.Subscribe(OnUntypedStream, OnUntypedEnded, () => OnUntypedEnded(null));
        }
        return typed;
    }

    private void OnUntypedStream(MuxStream stream)
    {
        bool full;
        using (Lock.Enter())
        {
            var typed = _typed!;
            full = !typed.IsObservedLocked && !typed.HasWaitersLocked && typed.CountLocked + _typesBeingRead >= Options.AcceptBacklog;
            if (!full)
            {
                _typesBeingRead++;
            }
        }
        if (full)
        {
            // Nobody takes typed streams: the backlog bound holds as it does for untyped ones.
            stream.Reset(ErrorCode.AcceptQueueFull);
            return;
        }
        _ = ReadTypeAndQueueAsync(stream);
    }

    private void OnUntypedEnded(Exception? error)
    {
        using (Lock.Enter())
        {
            if (error is InvalidOperationException && _end is null)
            {
                // Untyped accepting was in use: this typed taker could not start. Those waiting hear why; a later call tries again.
                _typed!.EndLocked(error, error);
                _typed = null;
                return;
            }
            _untypedEnded = true;
            EndTypedIfDoneLocked();
        }
    }

    private void EndTypedIfDoneLocked()
    {
        if (_untypedEnded && _typesBeingRead == 0 && _end is { } end)
        {
            var error = new MuxadoSessionException(end);
            _typed?.EndLocked(error, end.IsClean ? null : error);
        }
    }

    private async Task ReadTypeAndQueueAsync(MuxStream stream)
    {
        TypedStream? typed = null;
        try
        {
            typed = await ReadTypeAsync(stream).ConfigureAwait(false);
        }
        finally
        {
            using (Lock.Enter())
            {
                _typesBeingRead--;
                if (typed is not null && _typed is { } queue)
                {
                    queue.EnqueueLocked(typed);
                }
                EndTypedIfDoneLocked();
            }
        }
    }

    /// <summary>
    /// Reads the type prefix within the deadline; returns null for a stream it handed to the heartbeat responder, one
    /// that ended early, or one reset for being late. Never throws.
    /// </summary>
    private async Task<TypedStream?> ReadTypeAsync(MuxStream stream)
    {
        var prefix = new byte[4];
        int read = 0;
        // Not disposed: the deadline may fire on another thread just as the type arrives, and a disposed source would
        // throw there. It holds no timer of its own (the deadline is the scheduler's), so nothing leaks.
        var late = new CancellationTokenSource();
        using (System.Reactive.Concurrency.Scheduler.Schedule(Scheduler, Options.TypeReadTimeout, () => late.Cancel()))
        {
            try
            {
                while (read < 4)
                {
                    var chunk = await stream.ReadChunkAsync(4 - read, late.Token).ConfigureAwait(false);
                    if (chunk is not { } data)
                    {
                        break;
                    }
                    data.CopyTo(prefix.AsMemory(read));
                    read += data.Length;
                    stream.ReportConsumed(data.Length);
                }
            }
            catch (MuxadoException)
            {
                return null; // reset or session end before the type arrived: nothing to hand out
            }
            catch (OperationCanceledException)
            {
                stream.Reset(ErrorCode.StreamCancelled);
                return null;
            }
        }
        if (read < 4)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        uint type = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (type == HeartbeatStreamType && Options.RespondToHeartbeats)
        {
            _ = HeartbeatResponder.RunAsync(stream);
            return null;
        }
        return new TypedStream(type, stream);
    }
}
