using System.Net.Sockets;

namespace Muxado.Reactive.Transports;

/// <summary>A <see cref="TransportConnection"/> over a connected stream <see cref="Socket"/>.</summary>
/// <remarks>
/// Unlike a plain stream, a socket can close only its sending direction (<see cref="SocketShutdown.Send"/>), so
/// <c>Outbound.OnCompleted</c> sends the peer an end of stream while frames can still be read from it.
/// </remarks>
internal sealed class SocketConnection : StreamConnection
{
    private readonly Socket _socket;

    /// <summary>Wraps <paramref name="socket"/>, which must be a connected stream socket.</summary>
    public SocketConnection(Socket socket, bool leaveOpen, int readBufferSize)
        : base(new NetworkStream(socket, ownsSocket: false), leaveOpen, readBufferSize, zeroByteReads: true)
    {
        _socket = socket;
    }

    /// <inheritdoc />
    public override ValueTask CloseSendAsync()
    {
        if (!LeaveOpen)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The connection is already gone; the reader sees that on its own.
            }
        }
        return default;
    }

    /// <inheritdoc />
    public override void Abort()
    {
        if (LeaveOpen || !MarkClosedByUs())
        {
            return;
        }
        // Dispose without Shutdown: it breaks off a pending receive or send at once.
        _socket.Dispose();
    }
}
