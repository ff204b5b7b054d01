using System.Globalization;
using System.Net;

namespace Muxado.Reactive.EventStreams;

/// <summary>The program's arguments (see Program.cs).</summary>
internal sealed record RunOptions
{
    /// <summary>How long to run; none: 6 s with both sides here, until Ctrl+C for one side alone.</summary>
    public TimeSpan? Duration { get; init; }
    public IPEndPoint? Listen { get; init; }
    public IPEndPoint? Connect { get; init; }
    public int Partitions { get; init; } = 16;
    public int Rate { get; init; } = 5000;
    public int? SlowPartition { get; init; } = 5;
    public TimeSpan SlowPerEvent { get; init; } = TimeSpan.FromMilliseconds(2);
    public int Concurrency { get; init; } = 4;

    /// <exception cref="FormatException">An argument is unknown or malformed.</exception>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        var run = new RunOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            run = args[i] switch
            {
                "--duration" => run with { Duration = ParseDuration(Value()) },
                "--listen" => run with { Listen = ParseEndPoint(Value()) },
                "--connect" => run with { Connect = ParseEndPoint(Value()) },
                "--partitions" => run with { Partitions = ParseInt(Value(), 1, 1024) },
                "--rate" => run with { Rate = ParseInt(Value(), 100, 1_000_000) },
                "--slow" => run with { SlowPartition = Value() is "none" ? null : ParseInt(args[i], 0, 1023) },
                "--concurrency" => run with { Concurrency = ParseInt(Value(), 1, 1024) },
                _ => throw new FormatException($"unknown argument {args[i]} (see the top of Program.cs)"),
            };
        }
        return run.SlowPartition >= run.Partitions
            ? throw new FormatException($"--slow {run.SlowPartition}: there are only {run.Partitions} partitions (0..{run.Partitions - 1})")
            : run;
    }

    /// <summary>"6s", "500ms", "1m" or a number of seconds.</summary>
    private static TimeSpan ParseDuration(string text)
    {
        static double Number(string digits) => double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value > 0
            ? value : throw new FormatException($"not a duration: {digits}");
        return text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(text[..^2]))
            : text.EndsWith('s') ? TimeSpan.FromSeconds(Number(text[..^1]))
            : text.EndsWith('m') ? TimeSpan.FromMinutes(Number(text[..^1]))
            : TimeSpan.FromSeconds(Number(text));
    }

    private static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var endPoint) ? endPoint : throw new FormatException($"{text}: expected address:port");

    private static int ParseInt(string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value : throw new FormatException($"{text}: expected a number in {min}..{max}");
}
