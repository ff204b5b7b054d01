using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Muxado.Reactive.Frames;

/// <summary>
/// One muxado frame: an 8-byte header and its body. A value type, so that moving frames through
/// <see cref="IObservable{T}"/> pipelines allocates nothing.
/// </summary>
/// <remarks>
/// <para>Wire layout (all big-endian):</para>
/// <code>
///  0               1               2               3
/// +---------------+---------------+---------------+-------+-------+
/// |                 length (24 bits)              | type  | flags |
/// +---------------+---------------+---------------+-------+-------+
/// |R|                    stream id (31 bits)                      |
/// +---------------------------------------------------------------+
/// |                    body (length bytes)  ...                   |
/// </code>
/// <para>Equality compares the bytes of <see cref="Payload"/>, not the memory reference, so recorded
/// frames can be compared in tests.</para>
/// <para>A frame decoded by <see cref="FrameReader"/> whose body was larger than the reader kept
/// (an oversized DATA, a long GOAWAY debug text, a large unknown frame) has <see cref="Length"/>
/// set to the length on the wire and <see cref="IsTruncated"/> true; the bytes not kept were discarded.</para>
/// </remarks>
public readonly struct Frame : IEquatable<Frame>
{
    /// <summary>Size of the frame header in bytes.</summary>
    public const int HeaderLength = 8;
    /// <summary>Largest body length the 24-bit length field can express.</summary>
    public const int MaxBodyLength = 0xFFFFFF;
    /// <summary>Largest stream id (31 bits).</summary>
    public const uint MaxStreamId = 0x7FFFFFFF;
    /// <summary>Length of the fixed part of a GOAWAY body (last stream id and error code).</summary>
    public const int GoAwayFixedLength = 8;

    private Frame(FrameType type, FrameFlags flags, uint streamId, ReadOnlyMemory<byte> payload, uint value, uint lastStreamId, int length)
    {
        Type = type;
        Flags = flags;
        StreamId = streamId;
        Payload = payload;
        Value = value;
        LastStreamId = lastStreamId;
        Length = length;
    }

    /// <summary>The frame type (unknown types keep their number).</summary>
    public FrameType Type { get; }
    /// <summary>The flags (FIN, SYN); only DATA gives them meaning.</summary>
    public FrameFlags Flags { get; }
    /// <summary>The stream id, 31 bits (the reserved bit is masked off on read and written as 0).</summary>
    public uint StreamId { get; }
    /// <summary>DATA bytes, GOAWAY debug bytes or an unknown frame's body; empty for RST and WNDINC.</summary>
    public ReadOnlyMemory<byte> Payload { get; }
    /// <summary>The body length on the wire.</summary>
    public int Length { get; }
    /// <summary>Increment of a WNDINC, or the raw error code of RST and GOAWAY.</summary>
    public uint Value { get; }
    /// <summary>The last stream id of a GOAWAY.</summary>
    public uint LastStreamId { get; }

    /// <summary>The error code of an RST or GOAWAY frame.</summary>
    public ErrorCode ErrorCode => (ErrorCode)Value;
    /// <summary>The increment of a WNDINC frame.</summary>
    public uint Increment => Value;
    /// <summary>True when FIN is set.</summary>
    public bool IsFin => (Flags & FrameFlags.Fin) != 0;
    /// <summary>True when SYN is set.</summary>
    public bool IsSyn => (Flags & FrameFlags.Syn) != 0;
    /// <summary>True when the reader kept fewer body bytes than the wire carried.</summary>
    public bool IsTruncated => Length != KeptBodyLength;
    /// <summary>True for types this library does not know (skipped by sessions).</summary>
    public bool IsUnknownType => Type > FrameType.GoAway;

    private int KeptBodyLength => Type switch
    {
        FrameType.Rst or FrameType.WndInc => 4,
        FrameType.GoAway => GoAwayFixedLength + Payload.Length,
        _ => Payload.Length,
    };

    /// <summary>A DATA frame.</summary>
    /// <param name="streamId">Non-zero stream id.</param>
    /// <param name="payload">The bytes; not copied: the frame refers to the caller's memory.</param>
    /// <param name="flags">FIN and/or SYN.</param>
    public static Frame Data(uint streamId, ReadOnlyMemory<byte> payload, FrameFlags flags = FrameFlags.None)
    {
        CheckStreamId(streamId, nonZero: true);
        CheckBodyLength(payload.Length);
        return new Frame(FrameType.Data, flags, streamId, payload, 0, 0, payload.Length);
    }

    /// <summary>An RST frame resetting <paramref name="streamId"/> with <paramref name="code"/>.</summary>
    public static Frame Rst(uint streamId, ErrorCode code)
    {
        CheckStreamId(streamId, nonZero: true);
        return new Frame(FrameType.Rst, FrameFlags.None, streamId, default, (uint)code, 0, 4);
    }

    /// <summary>A WNDINC frame returning <paramref name="increment"/> bytes of credit (1..2^31-1).</summary>
    public static Frame WndInc(uint streamId, uint increment)
    {
        CheckStreamId(streamId, nonZero: true);
        if (increment == 0 || increment > 0x7FFFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(increment), increment, "A WNDINC increment is 1..2^31-1.");
        }
        return new Frame(FrameType.WndInc, FrameFlags.None, streamId, default, increment, 0, 4);
    }

    /// <summary>A GOAWAY frame (always on stream 0).</summary>
    public static Frame GoAway(uint lastStreamId, ErrorCode code, ReadOnlyMemory<byte> debug = default)
    {
        CheckStreamId(lastStreamId, nonZero: false);
        CheckBodyLength(GoAwayFixedLength + debug.Length);
        return new Frame(FrameType.GoAway, FrameFlags.None, 0, debug, (uint)code, lastStreamId, GoAwayFixedLength + debug.Length);
    }

    /// <summary>A GOAWAY frame with a UTF-8 debug text.</summary>
    public static Frame GoAway(uint lastStreamId, ErrorCode code, string debug) =>
        GoAway(lastStreamId, code, Encoding.UTF8.GetBytes(debug ?? string.Empty));

    /// <summary>A frame of a type this library does not interpret (types 4..15).</summary>
    public static Frame Unknown(byte type, FrameFlags flags, uint streamId, ReadOnlyMemory<byte> payload)
    {
        if (type is <= (byte)FrameType.GoAway or > 0xF)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown frame types are 4..15.");
        }
        CheckStreamId(streamId, nonZero: false);
        CheckBodyLength(payload.Length);
        return new Frame((FrameType)type, flags, streamId, payload, 0, 0, payload.Length);
    }

    /// <summary>This frame with a payload copied into a fresh array, for keeping beyond the caller's buffer.</summary>
    internal Frame WithOwnedPayload() => Payload.IsEmpty ? this : new(Type, Flags, StreamId, Payload.ToArray(), Value, LastStreamId, Length);

    /// <summary>Builds a decoded frame; used by <see cref="FrameReader"/>, no validation.</summary>
    internal static Frame Decoded(FrameType type, FrameFlags flags, uint streamId, ReadOnlyMemory<byte> payload, uint value, uint lastStreamId, int length) =>
        new(type, flags, streamId, payload, value, lastStreamId, length);

    /// <summary>The GOAWAY debug text decoded as UTF-8 (invalid bytes replaced).</summary>
    public string DebugText => Type == FrameType.GoAway ? Encoding.UTF8.GetString(Payload.Span) : string.Empty;

    /// <summary>Total bytes this frame takes on the wire (header plus body).</summary>
    public int WireLength => HeaderLength + Length;

    /// <inheritdoc />
    public bool Equals(Frame other) =>
        Type == other.Type && Flags == other.Flags && StreamId == other.StreamId && Value == other.Value &&
        LastStreamId == other.LastStreamId && Length == other.Length && Payload.Span.SequenceEqual(other.Payload.Span);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Frame f && Equals(f);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.Add(Flags);
        hash.Add(StreamId);
        hash.Add(Value);
        hash.Add(LastStreamId);
        hash.Add(Length);
        hash.AddBytes(Payload.Span);
        return hash.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(Frame left, Frame right) => left.Equals(right);
    /// <summary>Value inequality.</summary>
    public static bool operator !=(Frame left, Frame right) => !left.Equals(right);

    /// <summary>A readable form such as <c>DATA[3 SYN|FIN] "hi"</c>, for test failures and logs.</summary>
    public override string ToString() => Type switch
    {
        FrameType.Data => $"DATA[{StreamId}{FlagText()}] {PayloadText()}",
        FrameType.Rst => $"RST[{StreamId}] {ErrorCode}",
        FrameType.WndInc => $"WNDINC[{StreamId}] +{Increment}",
        FrameType.GoAway => $"GOAWAY[last {LastStreamId}] {ErrorCode} \"{DebugText}\"",
        _ => $"UNKNOWN({(byte)Type})[{StreamId}] {PayloadText()}",
    };

    private string FlagText() => Flags == FrameFlags.None ? string.Empty : " " + (Flags switch
    {
        FrameFlags.Syn => "SYN",
        FrameFlags.Fin => "FIN",
        FrameFlags.Syn | FrameFlags.Fin => "SYN|FIN",
        _ => "0x" + ((byte)Flags).ToString("X", CultureInfo.InvariantCulture),
    });

    private string PayloadText()
    {
        if (IsTruncated)
        {
            return $"<{Length} bytes, {Payload.Length} kept>";
        }
        var span = Payload.Span;
        if (span.Length <= 32 && span.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0)
        {
            return "\"" + Encoding.ASCII.GetString(span) + "\"";
        }
        return span.Length <= 16 ? "0x" + Convert.ToHexString(span) : $"<{span.Length} bytes>";
    }

    private static void CheckStreamId(uint id, bool nonZero)
    {
        if (id > MaxStreamId || (nonZero && id == 0))
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, nonZero ? "A stream id is 1..2^31-1." : "A stream id is 0..2^31-1.");
        }
    }

    private static void CheckBodyLength(int length)
    {
        if (length > MaxBodyLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "A frame body is at most 0xFFFFFF bytes.");
        }
    }

    internal static uint ReadUInt32(ReadOnlySpan<byte> span) => BinaryPrimitives.ReadUInt32BigEndian(span);
}
