// A UI-style client: every observer runs on one UI thread (here the main thread, pumped by a SynchronizationContext
// that stands in for a dispatcher) while a download runs over muxado on loopback TCP from a server in this process.
// The chunks reach the UI thread through ObserveOnWithCredit, so credit returns only when the UI has handled a chunk;
// a progress line (Sample, 10 Hz), the heartbeat's round trip and a UI-thread tick counter update while it runs.
//
//   dotnet run --project examples/Muxado.Reactive.UiClient                 256 MiB, checked byte by byte
//   dotnet run --project examples/Muxado.Reactive.UiClient -- --slow-ui    64 MiB, each chunk taking the UI 2 ms more
//   ... -- --size 1024                                                     MiB to download
//   ... -- --slow-ui --plain-observeon                                     the mistake it avoids: ObserveOn without credit
//
// Exits 0 when every byte arrived as sent and every observer call ran on the UI thread, 1 otherwise.
using System.Globalization;
using Muxado.Reactive.UiClient;

long? sizeMiB = null;
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
        case "--size" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long mib):
            sizeMiB = mib;
            i++;
            break;
        default:
            Console.Error.WriteLine("usage: Muxado.Reactive.UiClient [--slow-ui] [--plain-observeon] [--size MIB]");
            return 2;
    }
}

// A few seconds either way: a slow UI thread takes 64 KiB per 2 ms at most, so it gets less to do.
long size = (sizeMiB ?? (chunkWork > TimeSpan.Zero ? 64 : 256)) * 1024 * 1024;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;   // let the window close its session instead of the process dying mid-frame
    cancel.Cancel();
};

try
{
    // The main thread becomes the UI thread, as Application.Run makes it in a desktop app.
    return UiSynchronizationContext.Run(ui => new DownloadWindow(ui, size, chunkWork, plainObserveOn).RunAsync(cancel.Token));
}
catch (OperationCanceledException)
{
    Console.WriteLine();
    Console.WriteLine("cancelled");
    return 130;
}
