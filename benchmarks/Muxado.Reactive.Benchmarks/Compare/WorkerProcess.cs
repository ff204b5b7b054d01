using System.Diagnostics;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>The coordinator's handle on one worker process (see <see cref="WorkerHost"/>).</summary>
internal sealed class WorkerProcess : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMinutes(3);
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    /// <summary>Starts this same program as <c>compare --worker SCENARIO IMPL [--quick]</c>.</summary>
    public static WorkerProcess Start(string scenario, Impl impl, bool quick, bool allocationProfile)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path");
        var info = new ProcessStartInfo
        {
            FileName = self,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false, // a worker's diagnostics go straight to the console
            UseShellExecute = false,
        };
        // Under `dotnet run` the process is the app host; under `dotnet X.dll` it is dotnet itself.
        if (string.Equals(Path.GetFileNameWithoutExtension(self), "dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(typeof(WorkerProcess).Assembly.Location);
        }
        foreach (var arg in new[] { "compare", "--worker", scenario, impl.Name() })
        {
            info.ArgumentList.Add(arg);
        }
        if (quick)
        {
            info.ArgumentList.Add("--quick");
        }
        if (allocationProfile)
        {
            info.ArgumentList.Add("--alloc-profile");
        }
        // Workstation GC for every worker, whatever the environment says: the machine has 2 cores, and server GC's
        // per-core heaps would make the memory figures depend on the core count.
        info.Environment["DOTNET_gcServer"] = "0";
        return new WorkerProcess(Process.Start(info) ?? throw new InvalidOperationException("the worker did not start"));
    }

    public int Pid => _process.Id;

    /// <summary>Sends a command and waits for the worker's one-line reply.</summary>
    public async Task<WorkerReply> AskAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync().WaitAsync(ReplyTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new WorkerReply(null, null, $"no reply to '{command}' within {ReplyTimeout}");
        }
        return line is null
            ? new WorkerReply(null, null, $"the worker exited (code {ExitCodeOrNone()}) before replying to '{command}'")
            : WorkerProtocol.Deserialize(line);
    }

    private string ExitCodeOrNone() => _process.WaitForExit(1000) ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none";

    /// <summary>Asks the worker for its peak memory and lets it exit.</summary>
    public async Task<WorkerReply> QuitAsync()
    {
        var reply = await AskAsync(WorkerProtocol.Quit).ConfigureAwait(false);
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill();
        }
        return reply;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        _process.Dispose();
    }
}
