using System.Globalization;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>
/// What-if knobs for muxado's session options, from the environment (workers inherit it), so that a hypothesis
/// such as "bulk is limited by the window" can be checked without editing code:
/// <c>MUXADO_BENCH_WINDOW</c>, <c>MUXADO_BENCH_MAX_FRAME</c>, <c>MUXADO_BENCH_MAX_WRITE_QUEUE</c> (bytes) and
/// <c>MUXADO_BENCH_EMPTY_SYN</c> (true/false); for the transport, <c>MUXADO_BENCH_MAX_RETAINED_WRITE_BUFFER</c> and
/// <c>MUXADO_BENCH_READ_BUFFER</c> (the socket is then read through a <see cref="System.IO.Pipelines.PipeReader"/>
/// with that buffer size, and written through a <see cref="System.IO.Pipelines.PipeWriter"/>, via
/// <see cref="Transports.FrameTransport.FromPipe"/>, since the socket transport's 16 KiB is fixed). Unset, the library's defaults are measured. The report header names
/// any override in force, so such a run is never mistaken for a default one.
/// </summary>
internal static class MuxadoOverrides
{
    private static readonly (string Name, string Variable)[] Knobs =
    [
        ("WindowSize", "MUXADO_BENCH_WINDOW"),
        ("MaxFramePayload", "MUXADO_BENCH_MAX_FRAME"),
        ("MaxWriteQueueBytes", "MUXADO_BENCH_MAX_WRITE_QUEUE"),
        ("OpenWithEmptySyn", "MUXADO_BENCH_EMPTY_SYN"),
        ("transport read buffer", "MUXADO_BENCH_READ_BUFFER"),
        ("FrameTransportOptions.MaxRetainedWriteBufferSize", "MUXADO_BENCH_MAX_RETAINED_WRITE_BUFFER"),
        ("frame counting", "MUXADO_BENCH_COUNT_FRAMES"),
    ];

    public static bool HasTransportKnobs =>
        Environment.GetEnvironmentVariable("MUXADO_BENCH_READ_BUFFER") is not null ||
        Environment.GetEnvironmentVariable("MUXADO_BENCH_MAX_RETAINED_WRITE_BUFFER") is not null ||
        CountFrames;

    public static bool CountFrames => Environment.GetEnvironmentVariable("MUXADO_BENCH_COUNT_FRAMES") == "1";

    /// <summary>"WindowSize=4194304, ..." or null when nothing is overridden.</summary>
    public static string? Describe()
    {
        var set = Knobs.Where(k => Environment.GetEnvironmentVariable(k.Variable) is not null)
            .Select(k => $"{k.Name}={Environment.GetEnvironmentVariable(k.Variable)}").ToList();
        return set.Count == 0 ? null : string.Join(", ", set);
    }

    /// <summary><paramref name="options"/> (or the defaults) with the overrides applied.</summary>
    public static MuxSessionOptions Apply(MuxSessionOptions? options)
    {
        var b = options ?? MuxSessionOptions.Default;
        if (Describe() is null)
        {
            return b;
        }
        return new MuxSessionOptions
        {
            WindowSize = Int("MUXADO_BENCH_WINDOW") ?? b.WindowSize,
            MaxFramePayload = Int("MUXADO_BENCH_MAX_FRAME") ?? b.MaxFramePayload,
            MaxWriteQueueBytes = Int("MUXADO_BENCH_MAX_WRITE_QUEUE") ?? b.MaxWriteQueueBytes,
            OpenWithEmptySyn = Environment.GetEnvironmentVariable("MUXADO_BENCH_EMPTY_SYN") is { } syn ? bool.Parse(syn) : b.OpenWithEmptySyn,
            AcceptBacklog = b.AcceptBacklog,
            MaxIncomingStreams = b.MaxIncomingStreams,
            MaxBufferedBytes = Math.Max(b.MaxBufferedBytes, Int("MUXADO_BENCH_WINDOW") ?? 0),
            MaxDebugTextLength = b.MaxDebugTextLength,
            GoAwayLinger = b.GoAwayLinger,
            WriteTimeout = b.WriteTimeout,
            ReplyBudgetBurst = b.ReplyBudgetBurst,
            ReplyBudgetPerSecond = b.ReplyBudgetPerSecond,
            Scheduler = b.Scheduler,
            RespondToHeartbeats = b.RespondToHeartbeats,
        };
    }

    /// <summary>The transport for one end: the library's socket transport unless a transport knob is set.</summary>
    public static Transports.FrameTransport Transport(System.Net.Sockets.Socket socket, MuxSessionOptions options)
    {
        var transport = RawTransport(socket, options);
        return CountFrames ? new CountingTransport(transport) : transport;
    }

    private static Transports.FrameTransport RawTransport(System.Net.Sockets.Socket socket, MuxSessionOptions options)
    {
        var transportOptions = new Transports.FrameTransportOptions { ReaderLimits = options.ReaderLimits };
        if (Int("MUXADO_BENCH_MAX_RETAINED_WRITE_BUFFER") is { } retained)
        {
            transportOptions.MaxRetainedWriteBufferSize = retained;
        }
        if (Int("MUXADO_BENCH_READ_BUFFER") is { } readBuffer)
        {
            var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            var pipe = new SocketPipe(
                System.IO.Pipelines.PipeReader.Create(stream, new System.IO.Pipelines.StreamPipeReaderOptions(
                    bufferSize: readBuffer, minimumReadSize: Math.Min(readBuffer, 4096), leaveOpen: true, useZeroByteReads: true)),
                System.IO.Pipelines.PipeWriter.Create(stream, new System.IO.Pipelines.StreamPipeWriterOptions(leaveOpen: false)));
            return Transports.FrameTransport.FromPipe(pipe, transportOptions);
        }
        return Transports.FrameTransport.FromSocket(socket, transportOptions);
    }

    private sealed record SocketPipe(System.IO.Pipelines.PipeReader Input, System.IO.Pipelines.PipeWriter Output) : System.IO.Pipelines.IDuplexPipe;

    private static int? Int(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
}
