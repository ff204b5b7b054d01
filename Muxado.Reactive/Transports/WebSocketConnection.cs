using System.IO.Pipelines;
using System.Net.WebSockets;

namespace Muxado.Reactive.Transports;

/// <summary>A <see cref="TransportConnection"/> over a <see cref="WebSocket"/>: frames travel in binary messages.</summary>
/// <remarks>
/// <para>The messages are one byte stream to the reader (a frame may span messages, a message may hold several frames);
/// each write of the transport's coalescing writer is one message. A text message or a WebSocket protocol error fails
/// the read with <see cref="ErrorCode.ProtocolError"/>; a connection that breaks without a close handshake is an
/// <see cref="IOException"/>, that is <see cref="ErrorCode.PeerEOF"/>.</para>
/// <para>The close handshake maps onto the transport's end: closing the sending direction sends a Close (normal
/// closure) while reading goes on until the peer's Close arrives, which the reader sees as the end of the stream.</para>
/// </remarks>
internal sealed class WebSocketConnection : TransportConnection
{
    private readonly WebSocket _socket;
    private readonly TaskCompletionSource _peerClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wraps <paramref name="socket"/>, which must be open.</summary>
    public WebSocketConnection(WebSocket socket, int readBufferSize)
        : base(leaveOpen: false)
    {
        _socket = socket;
        // Zero-byte reads: the message reader passes them on as a zero-byte receive, which returns once a message's
        // header has arrived, so an idle connection holds no read buffer.
        Input = PipeReader.Create(new MessageReader(socket, _peerClosed), new StreamPipeReaderOptions(
            bufferSize: readBufferSize, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
    }

    /// <inheritdoc />
    public override PipeReader Input { get; }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException ex)
        {
            throw new IOException("the WebSocket failed: " + ex.Message, ex);
        }
    }

    /// <inheritdoc />
    public override async ValueTask CloseSendAsync()
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }
        try
        {
            // Sends our Close; when the peer's Close came first, this completes the handshake.
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // The connection is already gone; the reader sees that on its own.
        }
    }

    /// <inheritdoc />
    public override void CompleteInput() => Input.Complete();

    /// <inheritdoc />
    /// <remarks>
    /// Not a TCP abort: a WebSocket that is still open is closed with the handshake (our Close, then up to
    /// <see cref="CloseHandshakeTimeout"/> for the peer's), in the background, and only then released. Aborting at once
    /// would make the server reset the connection, and a reset destroys what the peer has not read yet: the session's
    /// last GOAWAY. A connection that is already broken fails the handshake at once and is released.
    /// </remarks>
    public override void Abort()
    {
        if (!MarkClosedByUs())
        {
            return;
        }
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived or WebSocketState.CloseSent)
        {
            _ = CloseThenReleaseAsync();
            return;
        }
        _socket.Dispose();
    }

    /// <summary>How long a close of our own waits for each half of the handshake before it lets go of the socket.</summary>
    internal static TimeSpan CloseHandshakeTimeout { get; } = TimeSpan.FromSeconds(1);

    private async Task CloseThenReleaseAsync()
    {
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                // A cancelled close aborts the socket, which is what a peer that does not read deserves.
                using var patience = new CancellationTokenSource(CloseHandshakeTimeout);
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, patience.Token).ConfigureAwait(false);
            }
            // The reader sees the peer's Close (it stops with the end of the stream); wait for it a moment.
            await _peerClosed.Task.WaitAsync(CloseHandshakeTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException
                                       or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // Broken, the peer did not answer, or the writer's own Close is under way: release the socket all the same.
        }
        finally
        {
            _socket.Dispose();
        }
    }

    /// <summary>The payloads of the binary messages received, as one read-only stream that ends at the peer's Close.</summary>
    /// <remarks>
    /// A pending receive is not cancelled when the transport stops: cancelling a receive aborts a WebSocket, and a close
    /// of our own wants the handshake. <see cref="Abort"/> ends it instead, by the handshake or by releasing the socket.
    /// </remarks>
    private sealed class MessageReader(WebSocket socket, TaskCompletionSource peerClosed) : Stream
    {
        private bool _ended;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (!_ended)
            {
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await socket.ReceiveAsync(buffer, CancellationToken.None).ConfigureAwait(false);
                }
                catch (WebSocketException ex) when (ex.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
                {
                    throw new IOException("the WebSocket connection closed without a close handshake", ex);
                }
                catch (WebSocketException ex)
                {
                    throw new MuxadoException(ErrorCode.ProtocolError, "WebSocket protocol error: " + ex.Message, ex);
                }
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        _ended = true;
                        peerClosed.TrySetResult();
                        break;
                    case WebSocketMessageType.Text:
                        throw new MuxadoException(ErrorCode.ProtocolError,
                            "the peer sent a text WebSocket message; muxado frames travel in binary messages");
                    default:
                        if (result.Count > 0 || buffer.Length == 0)
                        {
                            return result.Count;
                        }
                        break; // an empty message (or message part) carries nothing: read on
                }
            }
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
