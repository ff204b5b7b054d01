// A UI-style client: every observer runs on one UI thread (here the main thread, pumped by a SynchronizationContext
// that stands in for a dispatcher) while a download runs over muxado on loopback TCP from a server in this process.
// The chunks reach the UI thread through ObserveOnWithCredit, so credit returns only when the UI has handled a chunk;
// a progress line (Sample, 10 Hz), the heartbeat's round trip and a UI-thread tick counter update while it runs.
//
//   dotnet run --project examples/Muxado.Reactive.UiClient                 64 MiB, checked byte by byte
//   dotnet run --project examples/Muxado.Reactive.UiClient -- --slow-ui    each chunk takes the UI thread 2 ms more
//   ... -- --size 256                                                      MiB to download
//   ... -- --slow-ui --plain-observeon                                     the mistake it avoids: ObserveOn without credit
//
// Exits 0 when every byte arrived as sent and every observer call ran on the UI thread, 1 otherwise.
using System.Globalization;
using Muxado.Reactive.UiClient;

long sizeMiB = 64;
var chunkWork = TimeSpan.Zero;
bool plainObserveOn = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--slow-ui":
            chunkWork = TimeSpan.FromMilliseconds(2);
            break;
        case "--plain-observeon":
            plainObserveOn = true;
            break;
        case "--size" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out sizeMiB):
            i++;
            break;
        default:
            Console.Error.WriteLine("usage: Muxado.Reactive.UiClient [--slow-ui] [--plain-observeon] [--size MIB]");
            return 2;
    }
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;   // let the window close its session instead of the process dying mid-frame
    cancel.Cancel();
};

try
{
    // The main thread becomes the UI thread, as Application.Run makes it in a desktop app.
    return UiSynchronizationContext.Run(ui => new DownloadWindow(ui, sizeMiB * 1024 * 1024, chunkWork, plainObserveOn).RunAsync(cancel.Token));
}
catch (OperationCanceledException)
{
    Console.WriteLine();
    Console.WriteLine("cancelled");
    return 130;
}
