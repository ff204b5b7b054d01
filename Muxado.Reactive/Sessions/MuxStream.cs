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
/// is bounded by the window.</para>
/// <para><b>Writing</b>: <see cref="WriteAsync"/> waits for the peer's window; the bytes are serialised into
/// the transport's buffer before it completes, so the caller may reuse its buffer at once.</para>
/// <para><b>Ending</b>: <see cref="CloseWriteAsync"/> half-closes (FIN), <see cref="DisposeAsync"/> closes,
/// <see cref="Reset"/> aborts both directions with an error code.</para>
/// </remarks>
public sealed partial class MuxStream : IStreamSink, IAsyncDisposable
{
    private readonly MuxSession _session;

    internal MuxStream(MuxSession session) => _session = session;

    /// <summary>The stream id (odd: opened by the client; even: by the server).</summary>
    public uint Id { get; internal set; }

    /// <summary>The session this stream belongs to.</summary>
    public MuxSession Session => _session;

    private object Gate => _session.Gate;

    /// <inheritdoc />
    public override string ToString() => $"MuxStream {Id}";

    /// <summary>
    /// Aborts both directions: sends RST <paramref name="code"/>; unread data is dropped, readers and
    /// writers fail with <see cref="MuxadoStreamException"/>. Does nothing if the stream is already over.
    /// </summary>
    public void Reset(ErrorCode code = ErrorCode.StreamCancelled)
    {
        lock (Gate)
        {
            // Only a stream the core still knows is aborted: a finished one keeps its unread data and its ending.
            if (_session.Core.Reset(Id, code))
            {
                AbortLocked(new MuxadoStreamException(Id, code, byPeer: false));
            }
        }
    }

    /// <summary>
    /// Closes the stream: half-closes if not done yet (after any write in progress) and stops reading;
    /// data the peer sends afterwards is refused with RST StreamClosed. A write that is waiting for the peer's
    /// window is aborted with RST StreamCancelled instead, so a close never hangs on a peer that stopped
    /// reading. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var writeLock = WriteLock;
        lock (Gate)
        {
            // A close never waits on the peer: a write stuck on a full window is aborted with a reset.
            _closing = true;
            if (_windowWaiter is not null)
            {
                AbortForCloseLocked();
            }
        }
        await writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (Gate)
            {
                _session.Core.Close(Id);
                _writeClosed = true;
                _localClosed = true;
                _received?.Clear();
                SignalReaderLocked();
                _session.ForgetLocked(this);
            }
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Resets the stream because it is being closed while a write waits for window; under the lock.</summary>
    private MuxadoStreamException AbortForCloseLocked()
    {
        var error = new MuxadoStreamException(Id, ErrorCode.StreamCancelled, byPeer: false);
        _session.Core.Reset(Id, ErrorCode.StreamCancelled);
        AbortLocked(error);
        return error;
    }

    /// <summary>Ends both directions for a reset from either side; called under the lock.</summary>
    private void AbortLocked(MuxadoStreamException error)
    {
        _resetError ??= error;
        _writeError ??= error;
        _received?.Clear();
        if (_windowWaiter is not null)
        {
            _session.FailLater(_windowWaiter, error);
        }
        _windowWaiter = null;
        SignalReaderLocked();
        _session.ForgetLocked(this);
        _session.RemoveFromBacklogLocked(this);
    }

    /// <summary>The session ended: the reader gets what was buffered, then the error; writers fail.</summary>
    internal void OnSessionEnded(Exception error)
    {
        lock (Gate)
        {
            _readError ??= error;
            _writeError ??= error;
            if (_windowWaiter is not null)
            {
                _session.FailLater(_windowWaiter, error);
            }
            _windowWaiter = null;
            SignalReaderLocked();
        }
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
        _remoteFin = true;
        SignalReaderLocked();
        if (_writeClosed)
        {
            _session.ForgetLocked(this);
        }
    }

    void IStreamSink.OnReset(ErrorCode code, bool byPeer) => AbortLocked(new MuxadoStreamException(Id, code, byPeer));

    void IStreamSink.OnSendWindowOpened()
    {
        if (_windowWaiter is not null)
        {
            _session.CompleteLater(_windowWaiter, true);
        }
        _windowWaiter = null;
    }
}

public sealed partial class MuxStream
{
    /// <summary>
    /// This stream as a <see cref="System.IO.Stream"/> (read, write, flush, dispose, cancellation).
    /// Reading through it excludes other readers of this stream while a read is pending.
    /// </summary>
    public Stream AsStream() => new MuxStreamIOStream(this);
}
