namespace Muxado.Reactive.Interop;

/// <summary>What the peer does: listen and serve the behaviours, or connect and run the checks.</summary>
public enum PeerMode
{
    /// <summary>Listen, run a session on every accepted connection, serve the behaviours.</summary>
    Serve,

    /// <summary>Connect, serve the behaviours, run the seven checks as the opener.</summary>
    Dial,
}

/// <summary>What the sessions run over.</summary>
public enum PeerTransport
{
    /// <summary>Plain TCP (PEER.md's default).</summary>
    Tcp,

    /// <summary>TLS over TCP.</summary>
    Tls,

    /// <summary>A WebSocket (binary messages) on <c>/mux</c>.</summary>
    WebSocket,
}

/// <summary>The peer's settings, as parsed from its command line (PEER.md, "Command line").</summary>
public sealed record PeerOptions
{
    /// <summary>The default address of both modes.</summary>
    public const string DefaultAddress = "127.0.0.1:7777";

    /// <summary>Serve or dial.</summary>
    public PeerMode Mode { get; init; }

    /// <summary>The host to listen on or connect to (an IP address or a name).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port; 0 lets <c>serve</c> pick a free one.</summary>
    public int Port { get; init; } = 7777;

    /// <summary>The session role: <see cref="SessionRole.Server"/> opens even ids, <see cref="SessionRole.Client"/> odd ones.</summary>
    public SessionRole Role { get; init; } = SessionRole.Server;

    /// <summary>Run a heartbeat requester and print each latency and timeout.</summary>
    public bool Heartbeat { get; init; }

    /// <summary>The heartbeat interval.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long past the interval a beat may be late before a timeout is reported (Go's default: 15 s).</summary>
    public TimeSpan HeartbeatTolerance { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Dial: the workers of the parallel check (each runs 20 echo streams).</summary>
    public int Parallel { get; init; } = 16;

    /// <summary>Dial: the bytes of the sink and source checks.</summary>
    public long Bulk { get; init; } = 8L * 1024 * 1024;

    /// <summary>Dial: how long to keep the session open after the checks (for heartbeats, say).</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.Zero;

    /// <summary>The time limit of each check (dial) and of the callback behaviour's own round trip (both modes).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Send a stream's SYN with its first write instead of at <c>Open()</c> (<see cref="MuxSessionOptions.OpenWithEmptySyn"/>
    /// false), as Go muxado does: streams opened concurrently then put their SYNs on the wire out of id order.
    /// </summary>
    public bool SynWithFirstWrite { get; init; }

    /// <summary>
    /// Print every frame read and written, one per line (<c>-&gt; DATA[3] FIN len=5</c>, see
    /// <see cref="Transports.FrameFormatter"/>), to <see cref="TraceWriter"/>; the output of PEER.md is unchanged.
    /// </summary>
    public bool Trace { get; init; }

    /// <summary>Where <see cref="Trace"/> lines go (not from the command line): <c>RunAsync</c> sets its error writer, the
    /// process's stderr; null means <see cref="Console.Error"/>.</summary>
    public TextWriter? TraceWriter { get; init; }

    /// <summary>The session options these settings ask for.</summary>
    public MuxSessionOptions SessionOptions => new() { OpenWithEmptySyn = !SynWithFirstWrite };

    /// <summary>What the sessions run over (<c>--tls</c>, <c>--ws</c>; default TCP).</summary>
    public PeerTransport Transport { get; init; }

    /// <summary>Dial over TLS: the server certificate's SHA-256 (upper-case hex) to insist on; null takes any.</summary>
    public string? TlsPin { get; init; }

    /// <summary>The address as written on the command line.</summary>
    public string Address => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
