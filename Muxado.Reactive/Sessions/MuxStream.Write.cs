using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

public sealed partial class MuxStream
{
    // Send state; guarded by the session lock.
    private bool _writeClosed;
    private bool _closing; // DisposeAsync has started: a write must not start waiting for window
    private Exception? _writeError;
    private Waiter<bool>? _windowWaiter;
    private bool _turnHeld; // a write or close is in progress; the others wait in _turnWaiters, in order
    private Queue<Waiter<bool>>? _turnWaiters;

    /// <summary>
    /// Sends <paramref name="data"/>, waiting while the peer's window is full and while the session's write queue has
    /// no room (<see cref="MuxSessionOptions.MaxWriteQueueBytes"/>). Concurrent writes on one stream are applied one
    /// after another, in call order, never interleaved.
    /// </summary>
    /// <remarks>
    /// Cancelling a write stops it where it is: what it sent stays sent, the stream stays usable, and the next write
    /// follows those bytes. (The <see cref="AsStream"/> bridge instead resets a stream whose write was cancelled part way,
    /// as .NET streams give no way to tell how much of a cancelled write went out.)
    /// </remarks>
    /// <exception cref="MuxadoStreamException">The stream was reset.</exception>
    /// <exception cref="MuxadoSessionException">The session ended.</exception>
    /// <exception cref="MuxadoException">With <see cref="ErrorCode.StreamClosed"/>: the stream was half-closed with
    /// <see cref="CloseWrite"/> while this write waited.</exception>
    /// <exception cref="InvalidOperationException">The stream was half-closed or closed before the write.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(data, blocking: false, whole: false, resetIfCancelledPartWay: false, cancellationToken);

    /// <summary>The write of <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="cancellationToken">Stops the write.</param>
    /// <param name="blocking">The caller blocks a thread on the result (see <see cref="Waiter{T}"/>).</param>
    /// <param name="whole">Send all of <paramref name="data"/> in one go (it must fit a frame): a typed stream's prefix.</param>
    /// <param name="resetIfCancelledPartWay">A cancellation after part of the data was sent resets the stream.</param>
    internal async ValueTask WriteCoreAsync(ReadOnlyMemory<byte> data, bool blocking, bool whole, bool resetIfCancelledPartWay, CancellationToken cancellationToken)
    {
        await AcquireWriteTurnAsync(blocking, cancellationToken).ConfigureAwait(false);
        int offset = 0;
        MuxSession.RoomWaiter? granted = null; // queued for room; once woken, it holds room reserved for this write
        try
        {
            do
            {
                Waiter<bool>? windowWait = null;
                using (Lock.Enter())
                {
                    try
                    {
                        ThrowIfCannotWriteLocked();
                        if (data.IsEmpty)
                        {
                            return;
                        }
                        // The peer's window first: waiting for queue room is pointless when the window is shut anyway.
                        long window = _session.Core.SendWindowOf(Id);
                        if (window == 0 || (whole && window >= 0 && window < data.Length))
                        {
                            if (_closing)
                            {
                                throw AbortForCloseLocked();
                            }
                            windowWait = _windowWaiter = Waiter<bool>.Create(_session.Scheduler, blocking);
                        }
                        else
                        {
                            int room = _session.TakeWriteRoomLocked(granted);
                            granted = null;
                            if (room > 0 && (!whole || room >= data.Length))
                            {
                                var result = _session.Core.Send(Id, data[offset..], room);
                                if (result.Failed)
                                {
                                    throw new MuxadoException(result.Error, $"cannot write to stream {Id}: {result.Error}");
                                }
                                offset += result.BytesSent;
                            }
                            else
                            {
                                granted = _session.WaitForWriteRoomLocked(this, blocking);
                            }
                        }
                    }
                    finally
                    {
                        // Room granted and not used (the window shut meanwhile, an error) goes back, and on to the next writer.
                        if (granted is { Waiter.IsSettled: true })
                        {
                            _session.ReturnGrantLocked(granted);
                            granted = null;
                        }
                        _session.GrantWriteRoomLocked();
                    }
                }
                if (windowWait is not null)
                {
                    await WaitForWindowAsync(windowWait, cancellationToken).ConfigureAwait(false);
                }
                else if (granted is not null)
                {
                    await WaitForRoomAsync(granted, cancellationToken).ConfigureAwait(false);
                }
            }
            while (offset < data.Length);
        }
        catch (OperationCanceledException) when (resetIfCancelledPartWay && offset > 0 && offset < data.Length)
        {
            // Part of the data is on the wire: a reset says so, where silence would leave a truncated message behind.
            Reset(ErrorCode.StreamCancelled);
            throw;
        }
        finally
        {
            ReleaseWriteTurn();
        }
    }

    private async ValueTask WaitForWindowAsync(Waiter<bool> waiter, CancellationToken cancellationToken)
    {
        try
        {
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            using (Lock.Enter())
            {
                // A cancelled write no longer waits: a later close must not take it for a stuck writer.
                if (ReferenceEquals(_windowWaiter, waiter))
                {
                    _windowWaiter = null;
                }
                waiter.AbandonLocked();
            }
            throw;
        }
    }

    private async ValueTask WaitForRoomAsync(MuxSession.RoomWaiter waiter, CancellationToken cancellationToken)
    {
        try
        {
            await waiter.Waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            using (Lock.Enter())
            {
                _session.AbandonWriteRoomLocked(waiter);
            }
            throw;
        }
    }

    /// <summary>Half-closes after any write in progress: sends FIN; the peer's direction stays open. Idempotent.</summary>
    public async ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        await AcquireWriteTurnAsync(blocking: false, cancellationToken).ConfigureAwait(false);
        try
        {
            CloseWrite();
        }
        finally
        {
            ReleaseWriteTurn();
        }
    }

    /// <summary>
    /// Half-closes now: sends FIN. A write still waiting for window or queue room fails with
    /// <see cref="ErrorCode.StreamClosed"/> (what it sent so far stays sent); use <see cref="CloseWriteAsync"/> to
    /// half-close after the writes in progress.
    /// </summary>
    public void CloseWrite()
    {
        using (Lock.Enter())
        {
            if (_writeClosed || _writeError is not null)
            {
                return;
            }
            _writeClosed = true;
            _session.Core.CloseWrite(Id);
            FailWritersLocked(new MuxadoException(ErrorCode.StreamClosed, $"stream {Id} was half-closed while a write waited"));
            if (_remoteFin)
            {
                _session.ForgetLocked(this);
            }
        }
    }

    /// <summary>Fails the writes waiting for window or room (not the turn: each finds the error when its turn comes).</summary>
    private void FailWritersLocked(Exception error)
    {
        _windowWaiter?.FailLocked(Lock, error);
        _windowWaiter = null;
        _session.FailWriteRoomWaitersLocked(this, error);
    }

    private void ThrowIfCannotWriteLocked()
    {
        if (_writeError is not null)
        {
            throw _writeError is MuxadoStreamException reset
                ? new MuxadoStreamException(Id, reset.Code, reset.ByPeer)
                : _writeError;
        }
        if (_writeClosed)
        {
            throw new InvalidOperationException($"Stream {Id} was half-closed; it cannot be written any more.");
        }
    }

    /// <summary>Waits for this stream's turn to write or close: writes and closes are applied in call order.</summary>
    private ValueTask AcquireWriteTurnAsync(bool blocking, CancellationToken cancellationToken)
    {
        Waiter<bool> waiter;
        using (Lock.Enter())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_turnHeld)
            {
                _turnHeld = true;
                return default;
            }
            waiter = Waiter<bool>.Create(_session.Scheduler, blocking);
            (_turnWaiters ??= new()).Enqueue(waiter);
        }
        return WaitForTurnAsync(waiter, cancellationToken);
    }

    private async ValueTask WaitForTurnAsync(Waiter<bool> waiter, CancellationToken cancellationToken)
    {
        try
        {
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            bool granted;
            using (Lock.Enter())
            {
                // Either it still waits (leave the queue), or the turn was handed to it meanwhile (pass it on).
                granted = !waiter.AbandonLocked();
            }
            if (granted)
            {
                ReleaseWriteTurn();
            }
            throw;
        }
    }

    private void ReleaseWriteTurn()
    {
        using (Lock.Enter())
        {
            while (_turnWaiters is { Count: > 0 })
            {
                if (_turnWaiters.Dequeue().CompleteLocked(Lock, true))
                {
                    return; // the turn passes on, still held
                }
            }
            _turnHeld = false;
        }
    }
}
