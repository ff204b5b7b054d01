using System.Net.Sockets;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// A client and a server session over loopback TCP, each with options of its own, with the sockets kept so that a
/// test can cut the connection (<see cref="TcpSessionPair"/> shares one set of options and hides the sockets).
/// </summary>
internal sealed class TcpSessionPairWithSockets : IAsyncDisposable
{
    private TcpSessionPairWithSockets(MuxSession client, MuxSession server, Socket clientSocket, Socket serverSocket)
    {
        Client = client;
        Server = server;
        ClientSocket = clientSocket;
        ServerSocket = serverSocket;
    }

    public MuxSession Client { get; }
    public MuxSession Server { get; }
    public Socket ClientSocket { get; }
    public Socket ServerSocket { get; }

    public static async Task<TcpSessionPairWithSockets> ConnectAsync(MuxSessionOptions? clientOptions, MuxSessionOptions? serverOptions)
    {
        var (clientSocket, serverSocket) = await TcpSessionPair.ConnectSocketsAsync();
        return new TcpSessionPairWithSockets(
            MuxSession.Create(clientSocket, SessionRole.Client, clientOptions),
            MuxSession.Create(serverSocket, SessionRole.Server, serverOptions),
            clientSocket,
            serverSocket);
    }

    /// <summary>The session in <paramref name="role"/>.</summary>
    public MuxSession Of(SessionRole role) => role == SessionRole.Client ? Client : Server;

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Client.DisposeAsync().AsTask(), Server.DisposeAsync().AsTask()).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
