using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Diagnostics;

/// <summary>
/// The session instruments of one <see cref="Meter"/> (System.Diagnostics.Metrics), named after the OpenTelemetry
/// conventions. Sessions given the same meter share one set; sessions without a meter factory share the library's
/// <see cref="DefaultMeter"/>.
/// </summary>
internal sealed class MuxInstruments
{
    /// <summary>The meter's name (what <c>dotnet-counters monitor --counters Muxado.Reactive</c> watches).</summary>
    public const string MeterName = "Muxado.Reactive";

    private static readonly string? s_version = typeof(MuxInstruments).Assembly.GetName().Version?.ToString();
    private static readonly ConditionalWeakTable<Meter, MuxInstruments> s_byMeter = [];
    private static readonly KeyValuePair<string, object?>[] s_frameTypeTags =
    [
        new("muxado.frame.type", "rst"),
        new("muxado.frame.type", "data"),
        new("muxado.frame.type", "wndinc"),
        new("muxado.frame.type", "goaway"),
        new("muxado.frame.type", "unknown"),
    ];
    // Tags of the codes muxado defines, built once: counting a reset or an end allocates nothing.
    private static readonly KeyValuePair<string, object?>[] s_codeTags =
        Enumerable.Range(0, (int)ErrorCode.PeerEOF + 1).Select(c => CodeTag((ErrorCode)c)).ToArray();
    private static readonly KeyValuePair<string, object?> s_localSide = new("muxado.reset.side", "local");
    private static readonly KeyValuePair<string, object?> s_peerSide = new("muxado.reset.side", "peer");

    // The sessions the observed instruments sum over (started and not yet ended).
    private readonly ConcurrentDictionary<SessionTelemetry, byte> _sessions = new();

    private MuxInstruments(Meter meter)
    {
        Meter = meter;
        // The two "active" instruments are observed, not counted: a listener that starts late reads the true number
        // instead of a sum that misses the streams opened before it listened.
        meter.CreateObservableUpDownCounter("muxado.session.active", () => (long)_sessions.Count, "{session}", "Sessions that have started and not ended.");
        SessionsEnded = meter.CreateCounter<long>("muxado.session.ended", "{session}", "Sessions that ended, by local error code (muxado.error_code).");
        StreamsOpened = meter.CreateCounter<long>("muxado.stream.opened", "{stream}", "Streams this side opened.");
        StreamsAccepted = meter.CreateCounter<long>("muxado.stream.accepted", "{stream}", "Streams the peer opened that the session admitted.");
        meter.CreateObservableUpDownCounter("muxado.stream.active", SumOpenStreams, "{stream}", "Streams open now (either side's), over the sessions.");
        StreamsReset = meter.CreateCounter<long>("muxado.stream.reset", "{stream}", "RST frames, by code (muxado.error_code) and side (muxado.reset.side: local or peer).");
        BytesSent = meter.CreateCounter<long>("muxado.bytes.sent", "By", "Bytes of frames (header and body) queued for the transport.");
        BytesReceived = meter.CreateCounter<long>("muxado.bytes.received", "By", "Bytes of frames (header and body) read from the transport.");
        FramesSent = meter.CreateCounter<long>("muxado.frames.sent", "{frame}", "Frames queued for the transport, by type (muxado.frame.type).");
        FramesReceived = meter.CreateCounter<long>("muxado.frames.received", "{frame}", "Frames read from the transport, by type (muxado.frame.type).");
        CreditWait = meter.CreateHistogram<double>("muxado.write.credit_wait", "s", "How long a write waited for the peer's window credit.");
        HeartbeatRoundTrip = meter.CreateHistogram<double>("muxado.heartbeat.round_trip", "s", "Round trips of heartbeats (Heartbeat.StartAsync).");
        meter.CreateObservableGauge("muxado.write_queue.bytes", SumWriteQueues, "By", "Bytes queued for the transport and not yet written, over the sessions.");
    }

    /// <summary>The library-wide meter of sessions created without <see cref="MuxSessionOptions.MeterFactory"/>.</summary>
    public static Meter DefaultMeter { get; } = new(MeterName, s_version);

    /// <summary>The instruments of the meter from <paramref name="factory"/>, or of <see cref="DefaultMeter"/> when null.</summary>
    public static MuxInstruments For(IMeterFactory? factory)
    {
        var meter = factory?.Create(new MeterOptions(MeterName) { Version = s_version }) ?? DefaultMeter;
        return s_byMeter.GetValue(meter, m => new MuxInstruments(m));
    }

    public Meter Meter { get; }
    public Counter<long> SessionsEnded { get; }
    public Counter<long> StreamsOpened { get; }
    public Counter<long> StreamsAccepted { get; }
    public Counter<long> StreamsReset { get; }
    public Counter<long> BytesSent { get; }
    public Counter<long> BytesReceived { get; }
    public Counter<long> FramesSent { get; }
    public Counter<long> FramesReceived { get; }
    public Histogram<double> CreditWait { get; }
    public Histogram<double> HeartbeatRoundTrip { get; }

    /// <summary>True when something listens to a per-frame or per-stream instrument: only then is anything counted for them.</summary>
    public bool TrafficEnabled =>
        FramesSent.Enabled || FramesReceived.Enabled || BytesSent.Enabled || BytesReceived.Enabled
        || StreamsOpened.Enabled || StreamsAccepted.Enabled;

    /// <summary>Frame types in the order of <see cref="TypeIndex"/>.</summary>
    public const int FrameTypeCount = 5;

    /// <summary>The index of a frame type in per-type tallies: RST, DATA, WNDINC, GOAWAY, then every unknown type.</summary>
    public static int TypeIndex(FrameType type) => (uint)type <= (uint)FrameType.GoAway ? (int)type : FrameTypeCount - 1;

    public static KeyValuePair<string, object?> FrameTypeTag(int index) => s_frameTypeTags[index];

    public static KeyValuePair<string, object?> ErrorCodeTag(ErrorCode code) =>
        (uint)code < (uint)s_codeTags.Length ? s_codeTags[(int)code] : CodeTag(code);

    public static KeyValuePair<string, object?> SideTag(bool byPeer) => byPeer ? s_peerSide : s_localSide;

    public void Register(SessionTelemetry session) => _sessions.TryAdd(session, 0);

    public void Unregister(SessionTelemetry session) => _sessions.TryRemove(session, out _);

    private long SumWriteQueues()
    {
        long sum = 0;
        foreach (var session in _sessions.Keys)
        {
            sum += session.QueuedWriteBytes;
        }
        return sum;
    }

    private long SumOpenStreams()
    {
        long sum = 0;
        foreach (var session in _sessions.Keys)
        {
            sum += session.OpenStreams;
        }
        return sum;
    }

    private static KeyValuePair<string, object?> CodeTag(ErrorCode code) =>
        new("muxado.error_code", Enum.IsDefined(code) ? code.ToString() : ((uint)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
}
