using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive;

/// <summary>
/// One full-duplex byte stream of a <see cref="MuxSession"/>.
/// </summary>
/// <remarks>
/// <para><b>Reading</b>: one consumer at a time, through <see cref="Received"/> (Rx), <see cref="ReceivedWithCredit"/>
/// (Rx with explicit credit), <see cref="ReadAllAsync"/> (<see cref="IAsyncEnumerable{T}"/>) or
/// <see cref="AsStream"/>. Received memory belongs to the reader: it stays valid for as long as it is kept.
/// Flow-control credit returns to the peer as the reader consumes, never on mere receipt, so unread data
/// is bounded by the window. A reader that leaves (unsubscribes) leaves what it has not been handed for the next one.</para>
/// <para><b>Writing</b>: <see cref="WriteAsync"/> waits for the peer's window and for room in the session's write
/// queue; the bytes are serialised before it completes, so the caller may reuse its buffer at once.</para>
/// <para><b>Ending</b>: <see cref="CloseWriteAsync"/> half-closes (FIN), <see cref="DisposeAsync"/> closes,
/// <see cref="Reset"/> aborts both directions with an error code.</para>
/// <para>All state is guarded by the session's lock; user code (observers, continuations) never runs under it.</para>
/// </remarks>
public sealed partial class MuxStream : IStreamSink, IAsyncDisposable
{
    private readonly MuxSession _session;

    internal MuxStream(MuxSession session) => _session = session;

    /// <summary>The stream id (odd: opened by the client; even: by the server).</summary>
    public uint Id { get; internal set; }

    /// <summary>The session this stream belongs to.</summary>
    public MuxSession Session => _session;

    private DeferringLock Lock => _session.Lock;

    /// <inheritdoc />
    public override string ToString() => $"MuxStream {Id}";

    /// <summary>
    /// Aborts both directions: sends RST <paramref name="code"/>; unread data is dropped, readers and
    /// writers fail with <see cref="MuxadoStreamException"/>. Does nothing if the stream is already over.
    /// </summary>
    public void Reset(ErrorCode code = ErrorCode.StreamCancelled)
    {
        using (Lock.Enter())
        {
            // Only a stream the core still knows is aborted: a finished one keeps its unread data and its ending.
            if (_session.Core.Reset(Id, code))
            {
                AbortLocked(new MuxadoStreamException(Id, code, byPeer: false));
            }
        }
    }

    /// <summary>
    /// Closes the stream: half-closes if not done yet (after any write in progress) and stops reading. As TCP does
    /// when it closes with unread data, a close that drops unread bytes resets the stream with RST StreamClosed; data
    /// the peer sends afterwards is refused with RST StreamClosed, so a peer's writer never waits for ever. A write
    /// that is waiting for the peer's window is aborted with RST StreamCancelled instead, so a close never hangs on a
    /// peer that stopped reading. Idempotent.
    /// </summary>
    public ValueTask DisposeAsync() => CloseAsync(blocking: false);

    /// <summary>The close of <see cref="DisposeAsync"/>; <paramref name="blocking"/> for a caller blocking a thread on it.</summary>
    internal ValueTask CloseAsync(bool blocking)
    {
        Waiter<bool> waiter;
        using (Lock.Enter())
        {
            _closing = true;
            if (_writes is not { Count: > 0 })
            {
                CloseNowLocked();
                return default;
            }
            // After the writes in progress; PumpLocked aborts the head if it is stuck on the peer's window.
            waiter = Waiter<bool>.Create(_session.Scheduler, blocking);
            _writes.Enqueue(new WriteRequest(WriteKind.Close, default, whole: false) { Waiter = waiter });
            PumpLocked();
        }
        return new ValueTask(waiter.Task);
    }

    /// <summary>Closes: the core half-closes and stops reading (see <see cref="DisposeAsync"/>). Under the lock.</summary>
    private void CloseNowLocked()
    {
        // Bytes a reader took and has not credited yet (a credited chunk it still holds) were read, not dropped:
        // their credit is owed rather than a reset.
        _session.Core.Close(Id, unreadBytes: _received?.Length ?? 0);
        _writeClosed = true;
        _localClosed = true;
        _received?.Clear();
        SignalReaderLocked();
        _session.ForgetLocked(this);
    }

    /// <summary>Resets the stream because it is being closed while a write waits for window; under the lock.</summary>
    private void AbortForCloseLocked()
    {
        _session.Core.Reset(Id, ErrorCode.StreamCancelled);
        AbortLocked(new MuxadoStreamException(Id, ErrorCode.StreamCancelled, byPeer: false));
    }

    /// <summary>Ends both directions for a reset from either side; called under the lock.</summary>
    private void AbortLocked(MuxadoStreamException error)
    {
        _resetError ??= error;
        _writeError ??= error;
        _received?.Clear();
        FailWritesLocked(error, dataOnly: false);
        SignalReaderLocked();
        _session.ForgetLocked(this, error);
        _session.RemoveFromAcceptQueueLocked(this);
    }

    /// <summary>The session ended: the reader gets what was buffered, then the error; writers fail. Under the lock.</summary>
    internal void OnSessionEndedLocked(Exception error)
    {
        _readError ??= error;
        _writeError ??= error;
        FailWritesLocked(error, dataOnly: false);
        SignalReaderLocked();
    }

    void IStreamSink.OnData(ReadOnlyMemory<byte> data)
    {
        if (_localClosed)
        {
            return;
        }
        (_received ??= new ReceiveQueue()).Enqueue(data);
        SignalReaderLocked();
    }

    void IStreamSink.OnRemoteFin()
    {
        if (!_remoteFin)
        {
            _session.PublishLocked(StreamEventKind.HalfClosed, this, byPeer: true);
        }
        _remoteFin = true;
        SignalReaderLocked();
        if (_writeClosed)
        {
            _session.ForgetLocked(this);
        }
    }

    void IStreamSink.OnReset(ErrorCode code, bool byPeer) => AbortLocked(new MuxadoStreamException(Id, code, byPeer));

    // The writes waiting for window go on once the core has finished with the frame (not from inside its call).
    void IStreamSink.OnSendWindowOpened() => _session.PumpAfterFrameLocked(this);
}

public sealed partial class MuxStream
{
    /// <summary>
    /// This stream as a <see cref="System.IO.Stream"/> (read, write, flush, dispose, cancellation).
    /// Reading through it excludes other readers of this stream while a read is pending.
    /// </summary>
    /// <remarks>
    /// Failures surface as <see cref="IOException"/> with the <see cref="MuxadoException"/> inside; a zero-byte read
    /// waits until data is available (or the end) without consuming any; the synchronous <c>Read</c> and <c>Write</c>
    /// block the calling thread and never need the session's scheduler, so they are safe even inside a handler that
    /// runs on a single-threaded scheduler.
    /// </remarks>
    public Stream AsStream() => new MuxStreamIOStream(this);
}
