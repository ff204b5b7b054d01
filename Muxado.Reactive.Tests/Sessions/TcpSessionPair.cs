using System.Net;
using System.Net.Sockets;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>A client and a server session over a real loopback TCP connection (127.0.0.1, an ephemeral port).</summary>
internal sealed class TcpSessionPair : IAsyncDisposable
{
    private TcpSessionPair(MuxSession client, MuxSession server)
    {
        Client = client;
        Server = server;
    }

    public MuxSession Client { get; }
    public MuxSession Server { get; }

    public static async Task<TcpSessionPair> ConnectAsync(MuxSessionOptions? options = null)
    {
        var (clientSocket, serverSocket) = await ConnectSocketsAsync();
        return new TcpSessionPair(
            MuxSession.Create(clientSocket, SessionRole.Client, options),
            MuxSession.Create(serverSocket, SessionRole.Server, options));
    }

    /// <summary>Two connected loopback TCP sockets (Nagle off), for tests that put a session on one end only.</summary>
    public static async Task<(Socket Client, Socket Server)> ConnectSocketsAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync();
        await clientSocket.ConnectAsync(listener.LocalEndPoint!).WaitAsync(TimeSpan.FromSeconds(30));
        var serverSocket = await accepting.WaitAsync(TimeSpan.FromSeconds(30));
        serverSocket.NoDelay = true;
        return (clientSocket, serverSocket);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Client.DisposeAsync().AsTask(), Server.DisposeAsync().AsTask()).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
