using System.Globalization;
using System.Net;

namespace Muxado.Reactive.Telemetry;

/// <summary>The program's arguments (see Program.cs).</summary>
internal sealed record CommandLine
{
    public TimeSpan? Duration { get; init; }
    public IPEndPoint? Listen { get; init; }
    public bool AgentOnly { get; init; }
    public Uri? Connect { get; init; }
    public string? Name { get; init; }
    public int Agents { get; init; } = 3;
    public string? SlowAgent { get; init; } = "agent-3";
    public TimeSpan SlowFrom { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <exception cref="FormatException">An argument is unknown or malformed.</exception>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var line = new CommandLine();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            line = args[i] switch
            {
                "--duration" => line with { Duration = ParseDuration(Value()) },
                "--listen" => line with { Listen = IPEndPoint.TryParse(Value(), out var listen) ? listen : throw new FormatException($"--listen {args[i]}: expected address:port") },
                "--agent" => line with { AgentOnly = true },
                "--connect" => line with { Connect = ParseCollector(Value()) },
                "--name" => line with { Name = Value() },
                "--agents" => line with { Agents = int.TryParse(Value(), out int n) && n is >= 1 and <= 100 ? n : throw new FormatException("--agents takes 1..100") },
                "--slow" => line with { SlowAgent = Value() is "none" ? null : args[i] },
                "--slow-from" => line with { SlowFrom = ParseDuration(Value()) },
                _ => throw new FormatException($"unknown argument {args[i]} (see the top of Program.cs)"),
            };
        }
        if (line.AgentOnly && line.Connect is null)
        {
            throw new FormatException("--agent needs --connect address:port");
        }
        return line;
    }

    /// <summary>"5s", "500ms", "1m" or a number of seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        static double Number(string digits) => double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0
            ? value : throw new FormatException($"not a duration: {digits}");
        return text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(text[..^2]))
            : text.EndsWith('s') ? TimeSpan.FromSeconds(Number(text[..^1]))
            : text.EndsWith('m') ? TimeSpan.FromMinutes(Number(text[..^1]))
            : TimeSpan.FromSeconds(Number(text));
    }

    /// <summary>"127.0.0.1:7000" or a URL (http://host:port/).</summary>
    private static Uri ParseCollector(string text) =>
        Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : $"http://{text}/", UriKind.Absolute, out var uri)
            ? uri : throw new FormatException($"--connect {text}: expected address:port or a URL");
}
