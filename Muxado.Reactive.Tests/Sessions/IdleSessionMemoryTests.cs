using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using Muxado.Reactive.Tests.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// What an idle session costs (issue 15, many sessions): a session over a connected TCP socket, a TLS stream or a
/// WebSocket, with no streams and the default options, holds no write or read buffer, so many of them fit in little memory.
/// </summary>
[TestFixture]
[NonParallelizable] // it measures the whole heap
public sealed class IdleSessionMemoryTests
{
    private const int Pairs = 200;
    private const int TlsPairs = 20; // TLS and WebSocket pairs: each costs far more while it holds a read buffer

    [Test]
    public async Task An_idle_session_over_TCP_retains_less_than_8_KiB()
    {
        double perEnd = await PerEndAsync(Pairs, (client, server) => Task.FromResult((
            MuxSession.Create(client, SessionRole.Client), MuxSession.Create(server, SessionRole.Server))));

        Assert.That(perEnd, Is.LessThan(8 * 1024), $"{perEnd:0} managed bytes per idle session end");
    }

    // A TLS stream is waited on with zero-byte reads too: neither the transport's 256 KiB read buffer nor the TLS
    // stream's own buffer is held while nothing arrives (with them it was about 290 KB per end). What remains is mostly
    // the TLS stream's own state and certificates.
    [Test]
    public async Task An_idle_session_over_TLS_holds_no_read_buffer()
    {
        using var certificate = TlsCertificates.MakeServerCertificate();
        double perEnd = await PerEndAsync(TlsPairs, async (client, server) =>
        {
            var clientTls = new SslStream(new NetworkStream(client, ownsSocket: true));
            var serverTls = new SslStream(new NetworkStream(server, ownsSocket: true));
            await Task.WhenAll(
                clientTls.AuthenticateAsClientAsync(TlsCertificates.PinnedTo(certificate)),
                serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }))
                .WaitAsync(RecordingObserver.Timeout);
            return (MuxSession.Create(clientTls, SessionRole.Client), MuxSession.Create(serverTls, SessionRole.Server));
        });

        Assert.That(perEnd, Is.LessThan(64 * 1024), $"{perEnd:0} managed bytes per idle TLS session end");
    }

    // The same over WebSockets (the managed WebSocket that ClientWebSocket and ASP.NET Core use): the message reader
    // waits with zero-byte receives, where it held the 256 KiB read buffer (about 268 KB per end).
    [Test]
    public async Task An_idle_session_over_a_WebSocket_holds_no_read_buffer()
    {
        double perEnd = await PerEndAsync(TlsPairs, (client, server) => Task.FromResult((
            MuxSession.Create(WebSocket.CreateFromStream(new NetworkStream(client, ownsSocket: true), new WebSocketCreationOptions()), SessionRole.Client),
            MuxSession.Create(WebSocket.CreateFromStream(new NetworkStream(server, ownsSocket: true), new WebSocketCreationOptions { IsServer = true }), SessionRole.Server))));

        Assert.That(perEnd, Is.LessThan(64 * 1024), $"{perEnd:0} managed bytes per idle WebSocket session end");
    }

    /// <summary>Managed bytes that each end of <paramref name="pairs"/> idle session pairs retains, after a full collection.</summary>
    private static async Task<double> PerEndAsync(int pairs, Func<Socket, Socket, Task<(MuxSession Client, MuxSession Server)>> start)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(pairs);
        var sessions = new List<MuxSession>(2 * pairs);
        try
        {
            long before = GC.GetTotalMemory(forceFullCollection: true);
            for (int i = 0; i < pairs; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                var accept = listener.AcceptAsync();
                await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(RecordingObserver.Timeout);
                var server = await accept.WaitAsync(RecordingObserver.Timeout);
                var (clientSession, serverSession) = await start(client, server);
                sessions.Add(clientSession);
                sessions.Add(serverSession);
            }
            long after = GC.GetTotalMemory(forceFullCollection: true);

            double perEnd = (after - before) / (double)sessions.Count;
            TestContext.Out.WriteLine($"{perEnd:0} managed bytes per idle session end");
            Assert.That(sessions.Select(s => s.Completion.IsCompleted), Is.All.False, "every session is still up");
            return perEnd;
        }
        finally
        {
            await Task.WhenAll(sessions.Select(s => s.DisposeAsync().AsTask())).WaitAsync(RecordingObserver.Timeout);
        }
    }
}
