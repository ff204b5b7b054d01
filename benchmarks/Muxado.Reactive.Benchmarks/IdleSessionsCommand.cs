using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks;

/// <summary>
/// <c>sessions N</c>: what an idle session costs. Starts a <see cref="MuxListener"/> on loopback, connects N client
/// sessions to it (both ends live in this process), and prints the managed memory per session pair after a full
/// collection, the working set, and how long the connections took. Each pair holds two sockets: N is bounded by the
/// process's file-descriptor limit (about half of <c>ulimit -n</c>).
/// <c>sessions N --clients-elsewhere</c> runs the clients in a child process instead, so this process holds only the
/// N server sessions (one socket each; the clients are <see cref="SessionEnds.StartClients"/>'s): the figures are then per
/// server session.
/// </summary>
internal static class IdleSessionsCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        if (args.Contains("--clients-elsewhere"))
        {
            return await RunServerOnlyAsync(n).ConfigureAwait(false);
        }
        await using var listener = MuxListener.Start(new IPEndPoint(IPAddress.Loopback, 0), new MuxListenerOptions { Backlog = 4096 });
        var servers = new List<MuxSession>(n);
        var clients = new List<MuxSession>(n);
        var taking = Task.Run(async () =>
        {
            for (int i = 0; i < n; i++)
            {
                servers.Add(await listener.AcceptAsync().ConfigureAwait(false));
            }
        });
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var elapsed = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(listener.LocalEndPoint).ConfigureAwait(false);
            clients.Add(MuxSession.Create(socket, SessionRole.Client));
        }
        await taking.ConfigureAwait(false);
        var connected = elapsed.Elapsed;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{n} idle sessions, both ends in this process, connected in {connected.TotalSeconds:0.0} s: " +
            $"{(after - before) / (double)n:0} managed bytes per session pair (about half per end), " +
            $"working set {Environment.WorkingSet / (1024 * 1024)} MiB, live {listener.LiveSessions}"));
        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
        await listener.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        GC.KeepAlive(servers);
        return listener.LiveSessions == 0 ? 0 : 1;
    }

    /// <summary>The server ends here, the client ends in a child process (<see cref="SessionEnds.StartClients"/>).</summary>
    private static async Task<int> RunServerOnlyAsync(int n)
    {
        await using var listener = MuxListener.Start(new IPEndPoint(IPAddress.Loopback, 0), new MuxListenerOptions { Backlog = 4096 });
        var servers = new List<MuxSession>(n);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var elapsed = Stopwatch.StartNew();
        using var clients = SessionEnds.StartClients(Impl.Muxado, listener.LocalEndPoint.Port, n);
        for (int i = 0; i < n; i++)
        {
            servers.Add(await listener.AcceptAsync().WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false));
        }
        var connected = elapsed.Elapsed;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{n} idle server sessions in this process (clients in process {clients.Id}), connected in {connected.TotalSeconds:0.0} s: " +
            $"{(after - before) / (double)n:0} managed bytes per session, working set {Environment.WorkingSet / (1024 * 1024)} MiB, " +
            $"live {listener.LiveSessions}"));
        clients.StandardInput.Close(); // the child closes its sessions and exits
        await clients.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        await listener.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return listener.LiveSessions == 0 && clients.ExitCode == 0 ? 0 : 1;
    }
}
