using System.Buffers.Binary;
using System.Text;

namespace Muxado.Reactive.Telemetry;

/// <summary>
/// The wire format between agents and the collector. An agent opens one typed stream per metric series: the type
/// <see cref="SeriesStreamType"/>, then one 16-byte record with the series name (UTF-8, zero-padded), then one 16-byte
/// record per sample (big-endian: Unix milliseconds, then the value as an IEEE double).
/// </summary>
/// <remarks>
/// One stream per series rather than one per agent: each series gets its own flow-control window, so a series whose
/// consumer lags is held back alone; the name goes once, at the start, instead of with every sample; and adding a
/// series is opening a stream (muxado streams cost a few hundred bytes). The agent's name is the WebSocket URL's
/// <c>?agent=</c>, since the connection, not a stream, is the agent.
/// </remarks>
internal static class TelemetryProtocol
{
    /// <summary>The stream type of a metric series ('MTRC').</summary>
    public const uint SeriesStreamType = 0x4D54_5243;

    /// <summary>The size of the name record and of every sample record.</summary>
    public const int RecordSize = 16;

    /// <summary>The collector's WebSocket path for agents.</summary>
    public const string AgentPath = "/mux";

    /// <summary>
    /// Both ends' session options: muxado does not negotiate windows, so agent and collector must agree. A 4 KiB window
    /// is 255 samples in flight per series: for live telemetry a long backlog is only stale data, and a small window makes
    /// a lagging collector's backpressure reach the agent within a fraction of a second.
    /// </summary>
    public static MuxSessionOptions SessionOptions { get; } = new()
    {
        WindowSize = 4 * 1024,
        MaxBufferedBytes = 1024 * 4 * 1024, // 1,024 streams' windows, as the default's ratio
    };

    public static byte[] EncodeName(string series)
    {
        var record = new byte[RecordSize];
        if (Encoding.UTF8.GetByteCount(series) is 0 or > RecordSize)
        {
            throw new ArgumentException($"a series name takes 1..{RecordSize} UTF-8 bytes: '{series}'", nameof(series));
        }
        Encoding.UTF8.GetBytes(series, record);
        return record;
    }

    public static void EncodeSample(Span<byte> record, DateTimeOffset at, double value)
    {
        BinaryPrimitives.WriteInt64BigEndian(record, at.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteDoubleBigEndian(record[8..], value);
    }
}

/// <summary>One sample as the collector sees it.</summary>
internal readonly record struct MetricSample(string Agent, string Series, DateTimeOffset At, double Value)
{
    public SeriesKey Key => new(Agent, Series);
}

/// <summary>A series of one agent.</summary>
internal readonly record struct SeriesKey(string Agent, string Series)
{
    public override string ToString() => $"{Agent}/{Series}";
}

/// <summary>
/// Decodes one series stream, chunk by chunk: a chunk is whatever one DATA frame carried, so a record may be split
/// across chunks; the tail of one chunk waits here for the next.
/// </summary>
internal sealed class SeriesDecoder(string agent)
{
    private readonly byte[] _partial = new byte[TelemetryProtocol.RecordSize];
    private int _partialLength;

    /// <summary>The series name, once its record has arrived.</summary>
    public string? Series { get; private set; }

    /// <exception cref="InvalidDataException">The name record is not a valid name.</exception>
    public MetricSample[] Decode(ReadOnlySpan<byte> chunk)
    {
        var samples = new List<MetricSample>(chunk.Length / TelemetryProtocol.RecordSize + 1);
        while (!chunk.IsEmpty)
        {
            ReadOnlySpan<byte> record;
            if (_partialLength == 0 && chunk.Length >= TelemetryProtocol.RecordSize)
            {
                record = chunk[..TelemetryProtocol.RecordSize];
                chunk = chunk[TelemetryProtocol.RecordSize..];
            }
            else
            {
                int take = Math.Min(TelemetryProtocol.RecordSize - _partialLength, chunk.Length);
                chunk[..take].CopyTo(_partial.AsSpan(_partialLength));
                _partialLength += take;
                chunk = chunk[take..];
                if (_partialLength < TelemetryProtocol.RecordSize)
                {
                    break;
                }
                _partialLength = 0;
                record = _partial;
            }
            if (Series is null)
            {
                Series = DecodeName(record);
            }
            else
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(record));
                samples.Add(new MetricSample(agent, Series, at, BinaryPrimitives.ReadDoubleBigEndian(record[8..])));
            }
        }
        return [.. samples];
    }

    private static string DecodeName(ReadOnlySpan<byte> record)
    {
        int end = record.IndexOf((byte)0);
        var name = record[..(end < 0 ? record.Length : end)];
        try
        {
            return name.IsEmpty
                ? throw new InvalidDataException("a series stream must start with its name")
                : new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(name);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException("a series name must be UTF-8");
        }
    }
}
