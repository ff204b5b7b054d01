using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Interop;

/// <summary>The byte connections under the peer's sessions: TCP, TLS over TCP, or a WebSocket (<c>--tls</c>, <c>--ws</c>).</summary>
internal static class PeerConnections
{
    /// <summary>The WebSocket endpoint's path.</summary>
    public const string WebSocketPath = "/mux";

    /// <summary>A transport on an accepted connection: the socket itself, or TLS over it with <paramref name="certificate"/>.</summary>
    /// <exception cref="AuthenticationException">The TLS handshake failed.</exception>
    public static async Task<FrameTransport> AcceptedAsync(Socket socket, PeerOptions options, X509Certificate2? certificate, CancellationToken cancellationToken)
    {
        var limits = new FrameTransportOptions { ReaderLimits = options.SessionOptions.ReaderLimits };
        if (options.Transport != PeerTransport.Tls)
        {
            return FrameTransport.FromSocket(socket, limits);
        }
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.Timeout);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, deadline.Token).ConfigureAwait(false);
            return FrameTransport.FromStream(tls, limits);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Connects as the options say; returns the transport and a line describing the connection.</summary>
    public static async Task<(FrameTransport Transport, string Description)> DialAsync(PeerOptions options, CancellationToken cancellationToken)
    {
        var limits = new FrameTransportOptions { ReaderLimits = options.SessionOptions.ReaderLimits };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        if (options.Transport == PeerTransport.WebSocket)
        {
            var client = new ClientWebSocket();
            try
            {
                var uri = new Uri($"ws://{options.Address}{WebSocketPath}");
                await client.ConnectAsync(uri, deadline.Token).ConfigureAwait(false);
                return (FrameTransport.FromWebSocket(client, limits), $"over WebSocket {uri}");
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
        var socket = await ConnectAsync(options, deadline.Token).ConfigureAwait(false);
        string endpoints = $"{socket.LocalEndPoint} -> {socket.RemoteEndPoint}";
        if (options.Transport == PeerTransport.Tcp)
        {
            return (FrameTransport.FromSocket(socket, limits), endpoints);
        }
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        string? seen = null;
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = options.Host,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    seen = certificate?.GetCertHashString(HashAlgorithmName.SHA256);
                    return seen is not null && (options.TlsPin is null || seen == options.TlsPin);
                },
            }, deadline.Token).ConfigureAwait(false);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        string check = options.TlsPin is null ? "not checked" : "pinned";
        return (FrameTransport.FromStream(tls, limits), $"{endpoints} over TLS {tls.SslProtocol} server sha256={seen} ({check})");
    }

    /// <summary>A self-signed server certificate for localhost and the loopback addresses, valid for a day.</summary>
    public static X509Certificate2 MakeServerCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
    }

    private static async Task<Socket> ConnectAsync(PeerOptions options, CancellationToken cancellationToken)
    {
        var address = await ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, options.Port), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>An IPv4 address of <paramref name="host"/> if it has one.</summary>
    public static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new ArgumentException($"host '{host}' has no address");
    }
}
