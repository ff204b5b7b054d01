using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

public sealed partial class MuxStream
{
    // Send state; guarded by the session lock. Writes, half-closes and closes are requests served in call order: the
    // head is sent as far as the peer's window and the session's write queue allow, by whichever thread makes room
    // (the caller, the reader on WNDINC, the transport's writer as it drains). A request's waiter only reports; no
    // progress ever waits for a caller's continuation to run, so a caller blocking a single-threaded scheduler cannot
    // stall another writer, and writers behind it cannot stall it.
    private Queue<WriteRequest>? _writes;
    private bool _writeClosed; // FIN sent: no more writes
    private bool _closing; // DisposeAsync has started: a write must not start waiting for window
    private Exception? _writeError;
    private bool _needsRoom; // the head request waits for room in the session's write queue
    internal bool RoomQueued; // in the session's queue of streams waiting for room (session's bookkeeping)

    /// <summary>
    /// Sends <paramref name="data"/>, waiting while the peer's window is full and while the session's write queue has
    /// no room (<see cref="MuxSessionOptions.MaxWriteQueueBytes"/>). Concurrent writes on one stream are applied one
    /// after another, in call order, never interleaved; streams waiting for room in the write queue get it in order.
    /// </summary>
    /// <remarks>
    /// The bytes are serialised into the transport's buffer before the write completes; keep <paramref name="data"/>
    /// unchanged until then. Cancelling a write stops it where it is: what it sent stays sent, the stream stays usable,
    /// and the next write follows those bytes. (The <see cref="AsStream"/> bridge instead resets a stream whose write was
    /// cancelled part way, as .NET streams give no way to tell how much of a cancelled write went out.)
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
    /// <param name="blocking">The caller blocks a thread on the result (see <see cref="Waiter{T}"/>).</param>
    /// <param name="whole">Send all of <paramref name="data"/> in one frame: a typed stream's prefix.</param>
    /// <param name="resetIfCancelledPartWay">A cancellation after part of the data was sent resets the stream.</param>
    /// <param name="cancellationToken">Stops the write.</param>
    internal ValueTask WriteCoreAsync(ReadOnlyMemory<byte> data, bool blocking, bool whole, bool resetIfCancelledPartWay, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        WriteRequest request;
        using (Lock.Enter())
        {
            if (WriteRefusalLocked() is { } refused)
            {
                return ValueTask.FromException(refused);
            }
            if (data.IsEmpty)
            {
                return default;
            }
            request = new WriteRequest(WriteKind.Data, data, whole);
            if (_writes is not { Count: > 0 } && SendLocked(request, out var failed) == Progress.Done)
            {
                // The common case: window and room were there, nothing waits.
                return failed is null ? default : ValueTask.FromException(failed);
            }
            request.Waiter = Waiter<bool>.Create(_session.Scheduler, blocking);
            (_writes ??= new()).Enqueue(request);
            PumpLocked();
        }
        return WaitForAsync(request, resetIfCancelledPartWay, cancellationToken);
    }

    /// <summary>Half-closes after any write in progress: sends FIN; the peer's direction stays open. Idempotent.</summary>
    public ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        WriteRequest request;
        using (Lock.Enter())
        {
            if (_writes is not { Count: > 0 })
            {
                CloseWriteLocked();
                return default;
            }
            request = new WriteRequest(WriteKind.CloseWrite, default, whole: false)
            {
                Waiter = Waiter<bool>.Create(_session.Scheduler, blocking: false),
            };
            _writes.Enqueue(request);
        }
        return WaitForAsync(request, resetIfCancelledPartWay: false, cancellationToken);
    }

    /// <summary>
    /// Half-closes now: sends FIN. Writes still waiting for window or queue room fail with
    /// <see cref="ErrorCode.StreamClosed"/> (what they sent so far stays sent); use <see cref="CloseWriteAsync"/> to
    /// half-close after the writes in progress.
    /// </summary>
    public void CloseWrite()
    {
        using (Lock.Enter())
        {
            FailWritesLocked(new MuxadoException(ErrorCode.StreamClosed, $"stream {Id} was half-closed while a write waited"), dataOnly: true);
            CloseWriteLocked();
            // The half-closes and the close queued behind the failed writes are done now; nothing else would serve them
            // (window and room wake only a stream whose head is a write).
            PumpLocked();
        }
    }

    private void CloseWriteLocked()
    {
        if (_writeClosed || _writeError is not null)
        {
            return;
        }
        _writeClosed = true;
        _session.Core.CloseWrite(Id);
        _session.PublishLocked(StreamEventKind.HalfClosed, this);
        if (_remoteFin)
        {
            _session.ForgetLocked(this);
        }
    }

    /// <summary>Waits for a queued request; a cancelled wait takes the request out of the queue.</summary>
    private ValueTask WaitForAsync(WriteRequest request, bool resetIfCancelledPartWay, CancellationToken cancellationToken)
    {
        var done = request.Waiter!.Task;
        // Without a token there is nothing to add: a blocking caller then waits on the task itself, which the session
        // completes directly, so not even a thread-pool thread is needed for it to wake.
        return cancellationToken.CanBeCanceled ? WaitCancellablyAsync(request, resetIfCancelledPartWay, cancellationToken) : new ValueTask(done);
    }

    private async ValueTask WaitCancellablyAsync(WriteRequest request, bool resetIfCancelledPartWay, CancellationToken cancellationToken)
    {
        try
        {
            await request.Waiter!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            bool partWay;
            using (Lock.Enter())
            {
                if (!request.Waiter!.AbandonLocked())
                {
                    // Done (or failed) just as it was cancelled: the outcome stands.
                    partWay = false;
                }
                else
                {
                    partWay = request.Offset > 0;
                    request.Cancelled = true;
                    PumpLocked(); // a cancelled head leaves the queue; what follows it may go on
                }
            }
            if (partWay && resetIfCancelledPartWay)
            {
                // Part of the data is on the wire: a reset says so, where silence would leave a truncated message.
                Reset(ErrorCode.StreamCancelled);
            }
            throw;
        }
    }

    /// <summary>
    /// Serves the queue: sends the head as far as window and room allow, completes what is done, and stops at the first
    /// request that must wait (the window opening or room in the write queue wakes it). Under the lock.
    /// </summary>
    internal void PumpLocked()
    {
        _needsRoom = false;
        while (_writes is not null && _writes.TryPeek(out var head))
        {
            if (head.Cancelled)
            {
                _writes.Dequeue();
                continue;
            }
            if (_writeError is not null)
            {
                FailWritesLocked(_writeError, dataOnly: false);
                return;
            }
            switch (head.Kind)
            {
                case WriteKind.CloseWrite:
                    CloseWriteLocked();
                    break;
                case WriteKind.Close:
                    CloseNowLocked();
                    break;
                default:
                    if (_writeClosed)
                    {
                        head.Waiter!.FailLocked(Lock, new InvalidOperationException($"Stream {Id} was half-closed; it cannot be written any more."));
                        break;
                    }
                    var progress = SendLocked(head, out var failed);
                    if (failed is not null)
                    {
                        head.Waiter!.FailLocked(Lock, failed);
                    }
                    else if (progress == Progress.NeedsWindow)
                    {
                        if (_closing)
                        {
                            AbortForCloseLocked(); // a close never waits on a peer that stopped reading
                        }
                        return;
                    }
                    else if (progress == Progress.NeedsRoom)
                    {
                        _needsRoom = true;
                        _session.WaitForWriteRoomLocked(this, head.Data.Length - head.Offset);
                        return;
                    }
                    break;
            }
            _writes.Dequeue();
            head.Waiter?.CompleteLocked(Lock, true);
        }
    }

    /// <summary>True while the head request waits for room (the session pumps this stream when room comes). Under the lock.</summary>
    internal bool NeedsRoomLocked => _needsRoom;

    /// <summary>Sends as much of a data request as the window and the write queue allow. Under the lock.</summary>
    private Progress SendLocked(WriteRequest request, out Exception? failed)
    {
        failed = null;
        while (request.Offset < request.Data.Length)
        {
            int remaining = request.Data.Length - request.Offset;
            long window = _session.Core.SendWindowOf(Id);
            if (window == 0 || (request.Whole && window > 0 && window < remaining))
            {
                request.CreditWaitSince ??= _session.ElapsedLocked;
                return Progress.NeedsWindow;
            }
            if (request.CreditWaitSince is { } since)
            {
                request.CreditWaitSince = null;
                _session.Telemetry.CreditWaitedLocked(_session.ElapsedLocked - since);
            }
            int room = _session.WriteRoomLocked(this);
            if (room == 0 || (request.Whole && room < remaining))
            {
                return Progress.NeedsRoom;
            }
            var result = _session.Core.Send(Id, request.Data[request.Offset..], room);
            if (result.Failed)
            {
                failed = new MuxadoException(result.Error, $"cannot write to stream {Id}: {result.Error}");
                return Progress.Done;
            }
            request.Offset += result.BytesSent;
            _session.RoomTakenLocked(result.BytesSent);
        }
        return Progress.Done;
    }

    /// <summary>Fails the queued requests (all, or only the writes), and empties the queue of those. Under the lock.</summary>
    private void FailWritesLocked(Exception error, bool dataOnly)
    {
        if (_writes is not { Count: > 0 })
        {
            return;
        }
        int count = _writes.Count;
        for (int i = 0; i < count; i++)
        {
            var request = _writes.Dequeue();
            if (dataOnly && request.Kind != WriteKind.Data)
            {
                _writes.Enqueue(request);
                continue;
            }
            if (request.Kind == WriteKind.Close)
            {
                // A close is never refused: whatever ended the stream, closing it is done.
                CloseNowLocked();
                request.Waiter?.CompleteLocked(Lock, true);
                continue;
            }
            request.Waiter?.FailLocked(Lock, error);
        }
        _needsRoom = false;
        if (RoomQueued)
        {
            _session.RoomQueueMayMoveLocked(); // this stream no longer holds up the others waiting for room
        }
    }

    /// <summary>Why a new write is refused now, or null. Under the lock.</summary>
    private Exception? WriteRefusalLocked() =>
        _writeError is MuxadoStreamException reset ? new MuxadoStreamException(Id, reset.Code, reset.ByPeer)
        : _writeError is not null ? _writeError
        : _writeClosed || _closing ? new InvalidOperationException($"Stream {Id} was half-closed; it cannot be written any more.")
        : null;

    private enum WriteKind
    {
        Data,
        CloseWrite,
        Close,
    }

    private enum Progress
    {
        Done,
        NeedsWindow,
        NeedsRoom,
    }

    /// <summary>A write, half-close or close waiting its turn. Guarded by the session lock.</summary>
    private sealed class WriteRequest(WriteKind kind, ReadOnlyMemory<byte> data, bool whole)
    {
        public WriteKind Kind { get; } = kind;
        public ReadOnlyMemory<byte> Data { get; } = data;
        public bool Whole { get; } = whole;
        public int Offset { get; set; }
        public bool Cancelled { get; set; }
        /// <summary>When the request started waiting for the peer's window credit, until credit came (for the credit-wait metric).</summary>
        public TimeSpan? CreditWaitSince { get; set; }
        /// <summary>Null while the caller has not been made to wait (the request was served at once).</summary>
        public Waiter<bool>? Waiter { get; set; }
    }
}
