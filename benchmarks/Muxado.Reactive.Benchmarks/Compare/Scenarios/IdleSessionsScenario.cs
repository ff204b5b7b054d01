using System.Net;
using System.Net.Sockets;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>
/// sessions10k: the managed memory an idle session costs at one end (bytes per session), with 10,000 of them open.
/// </summary>
/// <remarks>
/// <para>This process accepts 10,000 loopback connections and runs the server end of a session on each; a child process
/// (<see cref="SessionEnds.StartClients"/>) holds the client ends. Both ends in one process would need 20,000 sockets,
/// which a 20,000 file-descriptor limit does not leave room for. The figure is per end: (managed heap after a full
/// collection with the sessions open − before) / N, the accepted sockets included (the same for both).</para>
/// <para>The process-wide cost shows in the peak working set column (the warm-up's 100 sessions and the runs'
/// 10,000 in one process).</para>
/// </remarks>
internal sealed class IdleSessionsScenario(Sizes sizes) : Scenario
{
    public override string Name => "sessions10k";
    public override string Unit => "bytes/session";
    public override string WorkUnit => "B/session";
    public override bool HigherIsBetter => false;
    public override IReadOnlyList<Impl> Impls { get; } = [Impl.Muxado, Impl.Nerdbank];

    /// <summary>A repetition takes several seconds and the figure hardly moves between runs.</summary>
    public override int RepetitionsFor(int repetitions) => Math.Min(repetitions, sizes.Quick ? 1 : 3);

    public override async Task<Sample> RunAsync(Impl impl, bool warmup)
    {
        int n = warmup ? 100 : sizes.IdleSessions;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4096);
        var ends = new List<IAsyncDisposable>(n);
        var accepting = new List<Task<IAsyncDisposable>>(n);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        var probe = Probe.Start();
        using (var clients = SessionEnds.StartClients(impl, ((IPEndPoint)listener.LocalEndPoint!).Port, n))
        {
            for (int i = 0; i < n; i++)
            {
                var socket = await listener.AcceptAsync().WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
                accepting.Add(SessionEnds.StartAsync(impl, socket, client: false));
            }
            ends.AddRange(await Task.WhenAll(accepting).ConfigureAwait(false));
            accepting.Clear();
            var timing = probe.Stop(seconds => n / seconds, n);
            long after = GC.GetTotalMemory(forceFullCollection: true);

            clients.StandardInput.Close(); // the child closes its ends and exits
            await clients.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
            Check.Equal(0, clients.ExitCode, "the client process's exit code");
            foreach (var end in ends)
            {
                await end.DisposeAsync().ConfigureAwait(false);
            }
            return timing with { Value = (double)(after - before) / n };
        }
    }
}
