using System.Net;
using System.Net.Sockets;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>A connected pair of TCP sockets over 127.0.0.1 (an ephemeral port), both with Nagle off.</summary>
/// <remarks>
/// NoDelay on both ends for every implementation: muxado's transport sets it anyway (as Go does), and leaving
/// Nagle on for the others would make their small request/response frames wait for delayed ACKs, which would
/// measure the kernel's timer rather than the multiplexer.
/// </remarks>
internal static class Loopback
{
    public static async Task<(Socket Client, Socket Server)> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).ConfigureAwait(false);
        var server = await accepting.ConfigureAwait(false);
        server.NoDelay = true;
        return (client, server);
    }
}
