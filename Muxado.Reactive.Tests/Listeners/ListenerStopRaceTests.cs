using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Muxado.Reactive.Tests.Transports;

namespace Muxado.Reactive.Tests.Listeners;

/// <summary>A stop that meets a connection in the middle of its TLS handshake.</summary>
public class ListenerStopRaceTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Test]
    public async Task StopAsync_is_over_only_once_a_connection_still_in_its_TLS_handshake_is_closed()
    {
        using var certificate = TlsCertificates.MakeServerCertificate();
        using var entered = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        var callbackReturned = 0;
        // The server's handshake is held inside a callback of the user's, where the stop's cancellation cannot reach it.
        var listener = MuxListener.Start(new IPEndPoint(IPAddress.Loopback, 0), new MuxListenerOptions
        {
            Tls = new SslServerAuthenticationOptions
            {
                ServerCertificateSelectionCallback = (_, _) =>
                {
                    entered.Set();
                    gate.Wait(Generous);
                    Volatile.Write(ref callbackReturned, 1);
                    return certificate;
                },
            },
        });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint);
        using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var handshake = tls.AuthenticateAsClientAsync(TlsCertificates.PinnedTo(certificate));
        Assert.That(entered.Wait(Generous), Is.True, "the server is in its handshake");

        var stop = listener.StopAsync(TimeSpan.Zero);
        var stoppedWhileHandshaking = stop.ContinueWith(
            _ => (Volatile.Read(ref callbackReturned) == 0, listener.LiveSessions), TaskContinuationOptions.ExecuteSynchronously);
        // Not timing logic: only long enough for a stop that does not wait to be seen finishing before the handshake.
        await Task.WhenAny(stop, Task.Delay(TimeSpan.FromMilliseconds(300)));
        gate.Set();
        await stop.WaitAsync(Generous);

        Assert.That(await stoppedWhileHandshaking, Is.EqualTo((false, 0)), "(stopped while the handshake ran, live sessions at the stop)");
        Assert.That(async () => await handshake.WaitAsync(Generous), Throws.Exception, "the client's handshake was broken off");
    }
}
