using System.Runtime.InteropServices;

namespace Muxado.Reactive.Interop;

/// <summary>The command line: <c>serve ...</c> or <c>dial ...</c> (see <see cref="ArgumentParser.Usage"/>).</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        // Ctrl+C and SIGTERM stop cleanly (sessions close with GOAWAY NoError); a second Ctrl+C kills.
        Console.CancelKeyPress += (_, e) =>
        {
            if (!stop.IsCancellationRequested)
            {
                e.Cancel = true;
                stop.Cancel();
            }
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        return await InteropPeer.RunAsync(args, Console.Out, Console.Error, stop.Token).ConfigureAwait(false);
    }
}
