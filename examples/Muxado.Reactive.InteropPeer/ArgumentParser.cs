using System.Globalization;

namespace Muxado.Reactive.Interop;

/// <summary>A command line the peer cannot run; the message says what is wrong.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Parses the peer's command line: <c>serve|dial [--option value]...</c> (also <c>--option=value</c>).</summary>
public static class ArgumentParser
{
    /// <summary>The usage text printed with <c>--help</c> and after a bad command line.</summary>
    public const string Usage =
        """
        usage:
          serve [--addr 127.0.0.1:7777] [--role server|client] [--heartbeat] [--hb-interval 200ms] [--hb-tolerance 15s] [--timeout 60s]
                [--syn-with-data] [--trace] [--tls | --ws]
          dial  [--addr 127.0.0.1:7777] [--role client|server] [--heartbeat] [--hb-interval 200ms] [--hb-tolerance 15s]
                [--parallel 16] [--bulk 8388608] [--hold 0s] [--timeout 60s] [--syn-with-data] [--trace]
                [--tls [--tls-pin SHA256] | --ws]
        durations take an ms or s suffix (200ms, 1s, 1.5s); serve --addr 127.0.0.1:0 picks a free port.
        --syn-with-data sends a stream's SYN with its first write, as Go does (concurrent openers put SYNs out of id order).
        --trace prints every frame read (<-) and written (->) to stderr, one per line; stdout is unchanged.
        --tls runs over TLS: serve makes a self-signed certificate at start and prints its SHA-256; dial checks the
              server's certificate against --tls-pin when given (without it, any certificate is taken: a test tool).
        --ws runs over a WebSocket: serve accepts them on ws://ADDR/mux (Kestrel), dial connects there.
        """;

    private static readonly HashSet<string> DialOnly = ["--parallel", "--bulk", "--hold", "--tls-pin"];

    private static readonly HashSet<string> Known =
        ["--addr", "--role", "--heartbeat", "--hb-interval", "--hb-tolerance", "--parallel", "--bulk", "--hold", "--timeout", "--syn-with-data", "--trace", "--tls", "--ws", "--tls-pin"];

    /// <summary>True when the command line asks for help (<c>-h</c>, <c>--help</c>, <c>help</c>).</summary>
    public static bool IsHelp(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return args.Any(a => a is "-h" or "--help" or "help");
    }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="UsageException"/> naming the first problem.</summary>
    public static PeerOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0)
        {
            throw new UsageException("missing mode: expected 'serve' or 'dial'");
        }
        var mode = args[0] switch
        {
            "serve" => PeerMode.Serve,
            "dial" => PeerMode.Dial,
            _ => throw new UsageException($"unknown mode '{args[0]}': expected 'serve' or 'dial'"),
        };
        var options = new PeerOptions { Mode = mode, Role = mode == PeerMode.Serve ? SessionRole.Server : SessionRole.Client };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Count; i++)
        {
            string name = args[i];
            string? inlineValue = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (name.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = name[(eq + 1)..];
                name = name[..eq];
            }
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{args[i]}'");
            }
            if (!Known.Contains(name))
            {
                throw new UsageException($"unknown option '{name}'");
            }
            if (!seen.Add(name))
            {
                throw new UsageException($"{name} is given more than once");
            }
            if (mode == PeerMode.Serve && DialOnly.Contains(name))
            {
                throw new UsageException($"{name} is an option of dial, not of serve");
            }
            if (name is "--heartbeat" or "--syn-with-data" or "--trace" or "--tls" or "--ws")
            {
                if (inlineValue is not null)
                {
                    throw new UsageException($"{name} takes no value");
                }
                options = name switch
                {
                    "--heartbeat" => options with { Heartbeat = true },
                    "--syn-with-data" => options with { SynWithFirstWrite = true },
                    "--tls" => WithTransport(options, PeerTransport.Tls, name),
                    "--ws" => WithTransport(options, PeerTransport.WebSocket, name),
                    _ => options with { Trace = true },
                };
                continue;
            }
            string value = inlineValue ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value"));
            options = name switch
            {
                "--addr" => WithAddress(options, value),
                "--role" => options with { Role = ParseRole(value) },
                "--hb-interval" => options with { HeartbeatInterval = Positive(name, ParseDuration(value, name)) },
                "--hb-tolerance" => options with { HeartbeatTolerance = ParseDuration(value, name) },
                "--parallel" => options with { Parallel = (int)ParseInteger(name, value, 1, 10_000) },
                "--bulk" => options with { Bulk = ParseInteger(name, value, 0, long.MaxValue) },
                "--hold" => options with { Hold = ParseDuration(value, name) },
                "--timeout" => options with { Timeout = Positive(name, ParseDuration(value, name)) },
                "--tls-pin" => options with { TlsPin = ParsePin(value) },
                _ => throw new UsageException($"unknown option '{name}'"),
            };
        }
        if (options.TlsPin is not null && options.Transport != PeerTransport.Tls)
        {
            throw new UsageException("--tls-pin needs --tls");
        }
        if (mode == PeerMode.Dial && options.Port == 0)
        {
            throw new UsageException("dial needs a port other than 0 in --addr");
        }
        return options;
    }

    private static PeerOptions WithTransport(PeerOptions options, PeerTransport transport, string name) =>
        options.Transport == PeerTransport.Tcp
            ? options with { Transport = transport }
            : throw new UsageException($"{name}: choose one of --tls and --ws");

    private static string ParsePin(string value)
    {
        var hex = value.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit)
            ? hex
            : throw new UsageException($"--tls-pin: '{value}' is not a SHA-256 fingerprint (64 hex digits)");
    }

    /// <summary>
    /// Parses a duration with an <c>ms</c> or <c>s</c> suffix (<c>200ms</c>, <c>1s</c>, <c>0.5s</c>).
    /// </summary>
    /// <param name="text">The duration text.</param>
    /// <param name="what">What it is for, to name in the error.</param>
    public static TimeSpan ParseDuration(string text, string what = "duration")
    {
        ArgumentNullException.ThrowIfNull(text);
        string number;
        double scaleMs;
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            number = text[..^2];
            scaleMs = 1;
        }
        else if (text.EndsWith('s'))
        {
            number = text[..^1];
            scaleMs = 1000;
        }
        else
        {
            throw new UsageException($"{what}: '{text}' is not a duration: give a number with an ms or s suffix, for example 200ms or 1s");
        }
        if (number.Length == 0 || !char.IsAsciiDigit(number[0]) ||
            !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) ||
            value * scaleMs > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            throw new UsageException($"{what}: '{text}' is not a duration: give a number with an ms or s suffix, for example 200ms or 1s");
        }
        return TimeSpan.FromMilliseconds(value * scaleMs);
    }

    private static TimeSpan Positive(string name, TimeSpan value) =>
        value > TimeSpan.Zero ? value : throw new UsageException($"{name} must be more than 0");

    private static long ParseInteger(string name, string text, long min, long max)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            throw new UsageException($"{name}: '{text}' is not a whole number from {min} to {max}");
        }
        return value;
    }

    private static SessionRole ParseRole(string text) => text switch
    {
        "server" => SessionRole.Server,
        "client" => SessionRole.Client,
        _ => throw new UsageException($"--role: '{text}' is not a role: expected 'server' (even ids) or 'client' (odd ids)"),
    };

    private static PeerOptions WithAddress(PeerOptions options, string text)
    {
        // HOST:PORT, or [IPv6]:PORT.
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new UsageException($"--addr: '{text}' is not HOST:PORT, for example 127.0.0.1:7777");
        }
        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        if (host.Length == 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw new UsageException($"--addr: '{text}' is not HOST:PORT with a port from 0 to 65535");
        }
        return options with { Host = host, Port = port };
    }
}
