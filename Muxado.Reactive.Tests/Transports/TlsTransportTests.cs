using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Muxado.Reactive.Tests.Sessions;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// Sessions over TLS (<see cref="SslStream"/> on loopback TCP) with a certificate made at run time: a client that pins
/// the server's certificate, data both ways, a clean end, and a handshake that fails with a clear error.
/// </summary>
public class TlsTransportTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static async Task<(SslStream Client, Task<SslStream> Server)> HandshakeAsync(
        X509Certificate2 serverCertificate, SslClientAuthenticationOptions clientOptions)
    {
        var (clientSocket, serverSocket) = await TestWire.ConnectedSocketsAsync();
        var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
        var serverHandshake = Task.Run(async () =>
        {
            await server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = serverCertificate });
            return server;
        });
        var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
        try
        {
            await client.AuthenticateAsClientAsync(clientOptions).WaitAsync(Generous);
        }
        catch
        {
            await client.DisposeAsync();
            _ = serverHandshake.ContinueWith(t => { _ = t.Exception; server.Dispose(); }, TaskScheduler.Default);
            throw;
        }
        return (client, serverHandshake);
    }

    [Test]
    public async Task A_client_that_pins_the_servers_certificate_runs_a_session_over_TLS_both_ways()
    {
        using var certificate = TlsCertificates.MakeServerCertificate();
        var (clientTls, serverHandshake) = await HandshakeAsync(certificate, TlsCertificates.PinnedTo(certificate));
        var serverTls = await serverHandshake.WaitAsync(Generous);
        Assert.That(clientTls.IsAuthenticated && clientTls.IsEncrypted, Is.True);
        Assert.That(clientTls.RemoteCertificate?.GetCertHashString(HashAlgorithmName.SHA256),
            Is.EqualTo(certificate.GetCertHashString(HashAlgorithmName.SHA256)));

        var server = MuxSession.Create(serverTls, SessionRole.Server);
        var client = MuxSession.Create(clientTls, SessionRole.Client);
        var serving = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            await foreach (var stream in server.AcceptAllAsync())
            {
                echoes.Add(StreamIO.EchoAsync(stream));
            }
            await Task.WhenAll(echoes);
        });

        var payloads = Enumerable.Range(0, 8).Select(i => StreamPayloads.Create(100 + i, 300 * 1024 + i)).ToArray();
        var answers = await Task.WhenAll(payloads.Select(async payload =>
        {
            var stream = client.Open();
            var reading = StreamIO.ReadToEndAsync(stream);
            await stream.WriteAsync(payload);
            await stream.CloseWriteAsync();
            return await reading;
        })).WaitAsync(Generous);
        for (int i = 0; i < payloads.Length; i++)
        {
            Assert.That(SHA256.HashData(answers[i]), Is.EqualTo(SHA256.HashData(payloads[i])), $"stream {i} came back intact");
        }

        await client.DisposeAsync().AsTask().WaitAsync(Generous);
        var serverEnd = await server.Completion.WaitAsync(Generous);
        Assert.That(serverEnd.IsClean, Is.True, serverEnd.ToString());
        await serving.WaitAsync(Generous);
        await server.DisposeAsync();
    }

    [Test]
    public async Task A_server_whose_certificate_is_not_the_pinned_one_fails_the_handshake_with_a_clear_error()
    {
        using var expected = TlsCertificates.MakeServerCertificate();
        using var impostor = TlsCertificates.MakeServerCertificate();

        var failure = await Assert.CatchAsync<AuthenticationException>(async () => await HandshakeAsync(impostor, TlsCertificates.PinnedTo(expected)));

        Assert.That(failure!.Message, Does.Contain("remote certificate").IgnoreCase, "the message says what was refused");
    }
}
