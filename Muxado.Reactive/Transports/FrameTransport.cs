using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// A muxado transport seen as frames: <see cref="Inbound"/> yields the frames read from the wire,
/// <see cref="Outbound"/> takes the frames to write.
/// </summary>
/// <remarks>
/// <para><b>Inbound</b> allows one subscription. Frames arrive one at a time, in wire order, on the
/// transport's reader. It completes on a clean end of stream at a frame boundary and fails with a
/// <see cref="MuxadoException"/> when the peer sends a malformed frame (<see cref="MuxadoFrameException"/>),
/// when the transport ends in the middle of a frame (<see cref="ErrorCode.PeerEOF"/>), or when
/// reading or writing the transport fails. Disposing the subscription stops reading.</para>
/// <para><b>Outbound</b> may be called from many threads at once; each frame is serialised (its payload
/// copied) before <c>OnNext</c> returns, so the caller may reuse its buffer at once. Frames are
/// coalesced into few writes to the operating system. <c>OnCompleted</c> writes what is queued and then
/// closes the sending direction; <c>OnError</c> aborts the transport.</para>
/// <para>Implementations with a write queue report its size through <see cref="PendingWriteBytes"/>,
/// so that a session can hold back DATA while the peer is not reading.</para>
/// </remarks>
public abstract class FrameTransport : IAsyncDisposable
{
    /// <summary>The frames read from the wire.</summary>
    public abstract IObservable<Frame> Inbound { get; }

    /// <summary>The frames to write to the wire.</summary>
    public abstract IObserver<Frame> Outbound { get; }

    /// <summary>Bytes accepted by <see cref="Outbound"/> and not yet written to the wire.</summary>
    /// <remarks>
    /// This is how a transport pushes back: a session holds DATA while the queue is above
    /// <see cref="MuxSessionOptions.MaxWriteQueueBytes"/>. A transport of your own with a write queue overrides it, and
    /// <see cref="WaitForWriteSpaceAsync"/> and <see cref="BytesWritten"/> with it.
    /// </remarks>
    public virtual long PendingWriteBytes => 0;

    /// <summary>
    /// Bytes written to the wire since the transport was made (those that left <see cref="PendingWriteBytes"/>): a
    /// session measures the transport's progress by it, and ends with <see cref="ErrorCode.WriteTimeout"/> when it
    /// stands still for <see cref="MuxSessionOptions.WriteTimeout"/> while bytes wait.
    /// </summary>
    public virtual long BytesWritten => 0;

    /// <summary>
    /// Completes when <see cref="PendingWriteBytes"/> is at most <paramref name="threshold"/>
    /// (or the transport has closed).
    /// </summary>
    public virtual ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) => default;

    /// <summary>
    /// True for the library's own transports, whose <see cref="Outbound"/> only encodes into a queue: the session may
    /// write to them while it holds its lock, which keeps frames in order at no cost. Any other transport is called
    /// from outside the lock, through the session's ordered outbox.
    /// </summary>
    internal virtual bool IsQueueingWriter => false;

    /// <summary>A position in the outgoing bytes: everything accepted so far ends there.</summary>
    internal virtual long BytesEnqueued => BytesWritten + PendingWriteBytes;

    /// <summary>Completes once the bytes up to <paramref name="position"/> have been written (or the transport closed).</summary>
    internal virtual ValueTask WaitForWrittenAsync(long position) =>
        BytesWritten >= position || PendingWriteBytes == 0 ? default : WaitForWrittenSlowAsync(position);

    private async ValueTask WaitForWrittenSlowAsync(long position)
    {
        while (BytesWritten < position && PendingWriteBytes > 0)
        {
            await WaitForWriteSpaceAsync(PendingWriteBytes - 1).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Calls <paramref name="callback"/> once when <see cref="PendingWriteBytes"/> is at most <paramref name="threshold"/>
    /// or the transport closed; false (and no call) when it already is. The library's transports call it synchronously
    /// from their writer, so that a session on a test scheduler hears of space inside the step that made it.
    /// </summary>
    internal virtual bool WatchWriteSpace(long threshold, Action callback)
    {
        var wait = WaitForWriteSpaceAsync(threshold);
        if (wait.IsCompleted)
        {
            return false;
        }
        _ = wait.AsTask().ContinueWith(t =>
        {
            _ = t.Exception; // a wait that failed means the transport closed, which is news for the callback too
            callback();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return true;
    }

    /// <summary>Closes the transport: stops reading, drops what is not yet written, releases the connection.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return default;
    }

    /// <summary>
    /// Wraps a pair supplied by the caller (a WebSocket adapter, a recorded capture, a marble-test observable).
    /// </summary>
    /// <remarks>
    /// <para>A session calls <paramref name="outbound"/> one call at a time, in the order the protocol produced the
    /// frames, never while it holds its lock, from whichever thread is leaving the session's serialised section (often
    /// the transport's own reader). A frame's <see cref="Frame.Payload"/> is valid until <c>OnNext</c> returns: copy what
    /// you keep. <c>OnNext</c> should not block for long (it holds up the frames behind it); an exception from it ends the
    /// session with <see cref="ErrorCode.InternalError"/>.</para>
    /// <para>Such a transport has no write queue the session can see, so it cannot push back. To push back, derive from
    /// <see cref="FrameTransport"/> instead and override <see cref="PendingWriteBytes"/>, <see cref="BytesWritten"/> and
    /// <see cref="WaitForWriteSpaceAsync"/>.</para>
    /// </remarks>
    public static FrameTransport Create(IObservable<Frame> inbound, IObserver<Frame> outbound, IDisposable? connection = null)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        ArgumentNullException.ThrowIfNull(outbound);
        return new DelegatingFrameTransport(inbound, outbound, connection ?? Disposable.Empty);
    }

    /// <summary>
    /// A transport over a <see cref="Stream"/> that can read and write (a TLS stream, a named pipe, ...).
    /// </summary>
    /// <remarks>
    /// <para>A stream has no half-close: <c>Outbound.OnCompleted</c> writes what is queued and then disposes the
    /// stream (unless <see cref="FrameTransportOptions.LeaveOpen"/>), which also ends reading; Inbound then
    /// completes. For TCP, <see cref="FromSocket"/> closes only the sending direction.</para>
    /// <para>The transport owns the stream unless <see cref="FrameTransportOptions.LeaveOpen"/>: it disposes it on
    /// <see cref="DisposeAsync"/>, on <c>Outbound.OnError</c> and when a write fails. A stream left open must honour
    /// the cancellation token of <c>ReadAsync</c> and <c>WriteAsync</c>, or <see cref="DisposeAsync"/> waits until
    /// its pending read or write returns.</para>
    /// <para>A close of our own (<see cref="DisposeAsync"/>, <c>Outbound.OnError</c>) completes Inbound if it has not
    /// ended; a failed write fails it with a <see cref="MuxadoException"/> saying "write to transport failed".</para>
    /// <para>An <see cref="SslStream"/> or a <see cref="NetworkStream"/> is waited on with zero-byte reads, so an idle
    /// connection holds no read buffer (neither ours nor the TLS stream's); any other stream is read into the buffer
    /// at once.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The stream cannot both read and write.</exception>
    public static FrameTransport FromStream(Stream stream, FrameTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanWrite)
        {
            throw new ArgumentException("The stream must be readable and writable.", nameof(stream));
        }
        options ??= FrameTransportOptions.Default;
        // Zero-byte reads only where the framework documents them as a wait for data: another stream might answer one
        // with an error, or make every read cost two calls for nothing.
        bool zeroByteReads = stream is SslStream or NetworkStream;
        return new PipeFrameTransport(new StreamConnection(stream, options.LeaveOpen, options.ReadBufferSize, zeroByteReads), options);
    }

    /// <summary>A transport over a duplex pipe: frames are read from its input and written to its output.</summary>
    /// <remarks>
    /// <para><c>Outbound.OnCompleted</c> completes the pipe's output after what is queued; the reader completes the
    /// pipe's input when it stops. With <see cref="FrameTransportOptions.LeaveOpen"/>, neither is completed.</para>
    /// <para>A close of our own (<see cref="DisposeAsync"/>, <c>Outbound.OnError</c>) completes Inbound if it has not
    /// ended; a failed write (the other end completed the pipe's input) fails it with a
    /// <see cref="MuxadoException"/> saying "write to transport failed".</para>
    /// </remarks>
    public static FrameTransport FromPipe(IDuplexPipe pipe, FrameTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        options ??= FrameTransportOptions.Default;
        return new PipeFrameTransport(new DuplexPipeConnection(pipe, options.LeaveOpen), options);
    }

    /// <summary>A transport over a connected stream socket (TCP, or a Unix domain stream socket).</summary>
    /// <remarks>
    /// <para><c>Outbound.OnCompleted</c> writes what is queued and then shuts down the sending direction
    /// (<see cref="SocketShutdown.Send"/>): the peer reads end of stream while this end can still read.
    /// <see cref="DisposeAsync"/> closes the socket. With <see cref="FrameTransportOptions.LeaveOpen"/>, neither
    /// happens: the caller owns the socket.</para>
    /// <para>A close of our own (<see cref="DisposeAsync"/>, <c>Outbound.OnError</c>) completes Inbound if it has not
    /// ended; a failed write (a reset connection) fails it with a <see cref="MuxadoException"/>. The kernel reports
    /// a reset once: when the writer meets it first, the reader may see a plain end of stream before the write
    /// failure is recorded, and Inbound then completes (a session treats either as
    /// <see cref="ErrorCode.PeerEOF"/>).</para>
    /// <para>A TCP socket gets <see cref="Socket.NoDelay"/> set, as Go's net package does by default: the writer
    /// already coalesces frames, and Nagle's delay would hold back small WNDINC and RST frames.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The socket is not a connected stream socket.</exception>
    public static FrameTransport FromSocket(Socket socket, FrameTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SocketType != SocketType.Stream || !socket.Connected)
        {
            throw new ArgumentException("The socket must be a connected stream socket.", nameof(socket));
        }
        options ??= FrameTransportOptions.Default;
        if (socket.ProtocolType == ProtocolType.Tcp)
        {
            socket.NoDelay = true;
        }
        return new PipeFrameTransport(new SocketConnection(socket, options.LeaveOpen, options.ReadBufferSize), options);
    }

    /// <summary>A transport over an open <see cref="WebSocket"/> (a <c>ClientWebSocket</c>, or ASP.NET Core's server side).</summary>
    /// <remarks>
    /// <para>Frames travel in binary messages. The received messages are read as one byte stream, so a frame may span
    /// messages and a message may hold several frames; each batch of the coalescing writer goes out as one message, and
    /// a send that waits holds up the writer, so back-pressure reaches the socket.</para>
    /// <para>The close handshake maps onto the session's end both ways: <c>Outbound.OnCompleted</c> (a session's clean
    /// close, after its GOAWAY) sends a Close with <see cref="WebSocketCloseStatus.NormalClosure"/> and reading goes on
    /// until the peer's Close, which completes Inbound (a session then ends with <see cref="ErrorCode.PeerEOF"/>); a
    /// Close from the peer is answered. A text message or a WebSocket protocol error fails Inbound with
    /// <see cref="ErrorCode.ProtocolError"/> and a message that says so; a connection that breaks without a handshake
    /// is <see cref="ErrorCode.PeerEOF"/>.</para>
    /// <para>The transport owns the WebSocket. <see cref="DisposeAsync"/> closes it with the handshake, in the background
    /// (up to a second for each half, so that the peer reads the session's last GOAWAY before the connection goes), and
    /// then releases it; a WebSocket that is already broken is released at once. <see cref="FrameTransportOptions.LeaveOpen"/>
    /// is refused: a WebSocket aborts itself when a pending receive is cancelled, so there is no way to stop reading and
    /// hand it back open.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The WebSocket is not open, or the options ask to leave it open.</exception>
    public static FrameTransport FromWebSocket(WebSocket webSocket, FrameTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(webSocket);
        if (webSocket.State != WebSocketState.Open)
        {
            throw new ArgumentException($"The WebSocket must be open (it is {webSocket.State}).", nameof(webSocket));
        }
        options ??= FrameTransportOptions.Default;
        if (options.LeaveOpen)
        {
            throw new ArgumentException(
                "A WebSocket cannot be left open: it aborts itself when the transport stops its pending receive.", nameof(options));
        }
        return new PipeFrameTransport(new WebSocketConnection(webSocket, options.ReadBufferSize), options);
    }

    /// <summary>
    /// Two transports connected back to back in memory: frames sent on one's <see cref="Outbound"/> arrive at
    /// the other's <see cref="Inbound"/>, in order, one at a time.
    /// </summary>
    /// <param name="scheduler">Where frames are delivered (default <see cref="TaskPoolScheduler.Default"/>). Delivery
    /// is always scheduled, never done inside <c>OnNext</c>, so two sessions wired together cannot re-enter each other;
    /// with a virtual-time scheduler, frames arrive when the test advances the clock. Do not pass
    /// <see cref="ImmediateScheduler"/>, which would deliver synchronously.</param>
    /// <param name="limits">The reader limits applied on receipt, as a real reader would (default
    /// <see cref="FrameReaderLimits.Default"/>): an oversized DATA frame arrives truncated.</param>
    /// <remarks>
    /// <para>Each frame is encoded and decoded by the real codec when it is sent: the receiver owns a fresh copy of
    /// the payload, and a frame a real peer would reject fails the receiver's Inbound with the same
    /// <see cref="MuxadoFrameException"/>. Frames sent before the peer subscribes are kept until it does.</para>
    /// <para><c>Outbound.OnCompleted</c> completes the peer's Inbound after the frames already sent;
    /// <c>Outbound.OnError</c> fails it with <see cref="ErrorCode.PeerEOF"/>; <see cref="DisposeAsync"/> on either
    /// end completes both ends' Inbound (the peer's after the frames already sent). <see cref="PendingWriteBytes"/>
    /// counts the bytes sent and not yet delivered.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative.</exception>
    public static (FrameTransport Left, FrameTransport Right) CreateInMemoryPair(IScheduler? scheduler = null, FrameReaderLimits? limits = null)
    {
        var checkedLimits = FrameTransportOptions.ValidateLimits(limits ?? FrameReaderLimits.Default, nameof(limits));
        scheduler ??= TaskPoolScheduler.Default;
        var leftToRight = new InMemoryFrameChannel(scheduler, checkedLimits);
        var rightToLeft = new InMemoryFrameChannel(scheduler, checkedLimits);
        return (new InMemoryFrameTransport(rightToLeft, leftToRight), new InMemoryFrameTransport(leftToRight, rightToLeft));
    }

    private sealed class DelegatingFrameTransport(IObservable<Frame> inbound, IObserver<Frame> outbound, IDisposable connection) : FrameTransport
    {
        public override IObservable<Frame> Inbound => inbound;
        public override IObserver<Frame> Outbound => outbound;

        public override ValueTask DisposeAsync()
        {
            connection.Dispose();
            return base.DisposeAsync();
        }
    }
}
