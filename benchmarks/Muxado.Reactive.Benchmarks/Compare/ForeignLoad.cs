using System.Globalization;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// How busy the machine was with other work during a run: CPU time of all processes (<c>/proc/stat</c>) minus the
/// worker's own (<c>/proc/PID/stat</c>), as a fraction of the cores' capacity over the run.
/// </summary>
/// <remarks>
/// The benchmarks run on a small shared machine where other builds and test runs may start at any time; a throughput
/// figure taken while another process held a core means little. This makes such runs visible in the report instead
/// of silently skewing the medians. Returns null where procfs is missing (not Linux).
/// </remarks>
internal sealed class ForeignLoad
{
    private readonly int _pid;
    private readonly long _totalBusy;
    private readonly (long User, long System) _own;
    private readonly long _start;

    private ForeignLoad(int pid, long totalBusy, (long User, long System) own)
    {
        _pid = pid;
        _totalBusy = totalBusy;
        _own = own;
        _start = Environment.TickCount64;
    }

    public static ForeignLoad? Start(int workerPid) =>
        TotalBusyTicks() is { } total && ProcessBusyTicks(workerPid) is { } own ? new ForeignLoad(workerPid, total, own) : null;

    /// <summary>The worker's own CPU time since <see cref="Start"/>, user and system (kernel, i.e. system calls), in seconds.</summary>
    public (double User, double System)? OwnCpuSeconds { get; private set; }

    /// <summary>Other processes' share of the machine's CPU capacity since <see cref="Start"/> (0..1).</summary>
    public double? Stop()
    {
        if (TotalBusyTicks() is not { } total || ProcessBusyTicks(_pid) is not { } own)
        {
            return null;
        }
        OwnCpuSeconds = ((own.User - _own.User) / 100.0, (own.System - _own.System) / 100.0);
        long ownBusy = own.User + own.System - _own.User - _own.System;
        double seconds = (Environment.TickCount64 - _start) / 1000.0;
        if (seconds <= 0)
        {
            return null;
        }
        // procfs counts in clock ticks of 1/100 s (USER_HZ) on every Linux this runs on.
        double foreignSeconds = Math.Max(0, total - _totalBusy - ownBusy) / 100.0;
        return Math.Min(1, foreignSeconds / (seconds * Environment.ProcessorCount));
    }

    /// <summary>
    /// Waits until other processes have used less than <paramref name="threshold"/> of the CPU over half a second,
    /// for at most <paramref name="patience"/>; returns the last load seen (null without procfs).
    /// </summary>
    public static async Task<double?> WaitForQuietAsync(double threshold, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var probe = Start(Environment.ProcessId);
            await Task.Delay(500).ConfigureAwait(false);
            double? load = probe?.Stop();
            if (load is null || load < threshold || DateTime.UtcNow >= deadline)
            {
                return load;
            }
            await Task.Delay(500).ConfigureAwait(false);
        }
    }

    /// <summary>All CPUs' busy time (everything but idle and iowait), in clock ticks.</summary>
    private static long? TotalBusyTicks()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (int i = 1; i < Math.Min(fields.Length, 9); i++)
            {
                if (i is 4 or 5)
                {
                    continue;
                }
                busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }
            return busy;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A process's user and system time, in clock ticks.</summary>
    private static (long User, long System)? ProcessBusyTicks(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
