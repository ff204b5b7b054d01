using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Nerdbank.Streams;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>
/// One end of a multiplexed session per connected socket, for the many-sessions scenarios: a muxado session
/// (<c>MuxSession.Create</c>, defaults) or a Nerdbank <see cref="MultiplexingStream"/> (protocol v3, no handshake).
/// </summary>
internal static class SessionEnds
{
    /// <summary>Starts one end over <paramref name="socket"/>; the result disposes it.</summary>
    public static async Task<IAsyncDisposable> StartAsync(Impl impl, Socket socket, bool client)
    {
        socket.NoDelay = true;
        return impl switch
        {
            Impl.Muxado => MuxSession.Create(socket, client ? SessionRole.Client : SessionRole.Server),
            Impl.Nerdbank => await MultiplexingStream.CreateAsync(new NetworkStream(socket, ownsSocket: true),
                new MultiplexingStream.Options { ProtocolMajorVersion = 3 }).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(impl), impl, "no sessions for this implementation"),
        };
    }

    /// <summary>
    /// Starts a child process (this program, <c>session-clients</c>) that connects <paramref name="count"/> client ends
    /// of <paramref name="impl"/> to 127.0.0.1:<paramref name="port"/> and holds them until its stdin closes.
    /// </summary>
    /// <remarks>The client ends live elsewhere so that this process holds one socket per session: 10,000 sessions with
    /// both ends here would need more file descriptors than a default limit of 20,000 allows.</remarks>
    public static Process StartClients(Impl impl, int port, int count)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        // This program again: through the dotnet host with the assembly, or as its own apphost.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(SessionEnds).Assembly.Location);
        }
        foreach (var arg in new[] { "session-clients", impl.Name(), port.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("the client process did not start");
    }

    /// <summary><c>session-clients IMPL PORT N</c>: the child of <see cref="StartClients"/>.</summary>
    public static async Task<int> RunClientsAsync(string[] args)
    {
        var impl = MuxPairs.Parse(args[0]);
        int port = int.Parse(args[1], CultureInfo.InvariantCulture);
        int count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var ends = new List<IAsyncDisposable>(count);
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).ConfigureAwait(false);
            ends.Add(await StartAsync(impl, socket, client: true).ConfigureAwait(false));
        }
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        foreach (var end in ends)
        {
            await end.DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }
}
