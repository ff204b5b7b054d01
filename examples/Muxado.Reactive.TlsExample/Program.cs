// Muxado over TLS: a listener with a certificate made at run time, a client that pins that certificate, and a client
// that pins another one and is refused. Runs on 127.0.0.1 and exits by itself.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Muxado.Reactive;

using var certificate = MakeSelfSigned("localhost");
Console.WriteLine($"server certificate: CN=localhost, SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)[..16]}...");

await using var listener = MuxListener.Start(new IPEndPoint(IPAddress.Loopback, 0), new MuxListenerOptions
{
    Tls = new SslServerAuthenticationOptions { ServerCertificate = certificate },
});
Console.WriteLine($"listening on {listener.LocalEndPoint} (TLS)");
var serving = ServeAsync(listener);

// A client that trusts exactly this certificate (the usual check for a self-signed server).
await using (var client = await ConnectAsync(listener.LocalEndPoint, pinned: certificate))
{
    foreach (var text in new[] { "hello", "over", "TLS" })
    {
        Console.WriteLine($"echo of '{text}': '{await EchoAsync(client, text)}'");
    }
}

// A client that pins a different certificate: the handshake fails, and says why.
using var other = MakeSelfSigned("localhost");
try
{
    await using var refused = await ConnectAsync(listener.LocalEndPoint, pinned: other);
    Console.WriteLine("unexpected: a client with the wrong pin got through");
    return 1;
}
catch (AuthenticationException ex)
{
    Console.WriteLine($"client with the wrong pin refused: {ex.Message}");
}

await listener.StopAsync(TimeSpan.FromSeconds(5));
await serving;
Console.WriteLine("listener stopped");
return 0;

static async Task<MuxSession> ConnectAsync(IPEndPoint server, X509Certificate2 pinned)
{
    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await socket.ConnectAsync(server);
    var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
    try
    {
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null &&
                presented.GetCertHashString(HashAlgorithmName.SHA256) == pinned.GetCertHashString(HashAlgorithmName.SHA256),
        });
    }
    catch
    {
        await tls.DisposeAsync();
        throw;
    }
    return MuxSession.Create(tls, SessionRole.Client);
}

static async Task<string> EchoAsync(MuxSession client, string text)
{
    var stream = client.Open();
    await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
    await stream.CloseWriteAsync();
    var answer = new MemoryStream();
    await foreach (var chunk in stream.ReadAllAsync())
        answer.Write(chunk.Span);
    return Encoding.UTF8.GetString(answer.ToArray());
}

static async Task ServeAsync(MuxListener listener)
{
    var sessions = new List<Task>();
    await foreach (var session in listener.AcceptAllAsync())
        sessions.Add(EchoEveryStreamAsync(session));
    await Task.WhenAll(sessions);
}

static async Task EchoEveryStreamAsync(MuxSession session)
{
    var echoes = new List<Task>();
    try
    {
        await foreach (var stream in session.AcceptAllAsync())
            echoes.Add(EchoBackAsync(stream));
    }
    catch (MuxadoSessionException)
    {
        // The session ended with an error (the listener stopping, say): its streams end with it.
    }
    await Task.WhenAll(echoes);
}

static async Task EchoBackAsync(MuxStream stream)
{
    try
    {
        await foreach (var chunk in stream.ReadAllAsync())
            await stream.WriteAsync(chunk);
        await stream.CloseWriteAsync();
    }
    catch (MuxadoException)
    {
        // Reset or ended: nothing to echo.
    }
}

static X509Certificate2 MakeSelfSigned(string name)
{
    using var key = RSA.Create(2048);
    var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    var names = new SubjectAlternativeNameBuilder();
    names.AddDnsName(name);
    names.AddIpAddress(IPAddress.Loopback);
    request.CertificateExtensions.Add(names.Build());
    request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
    using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
}
