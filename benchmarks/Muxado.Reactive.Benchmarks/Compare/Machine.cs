using System.Runtime.InteropServices;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>What the numbers were measured on, for the report and the JSON.</summary>
internal static class Machine
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo")
                .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                .Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux, or no procfs: the rest still says enough.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return $"{cpu}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, " +
               $".NET {Environment.Version}, workstation GC";
    }
}
