using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Muxado.Reactive.Frames;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>Which side of a recorded scenario wrote the bytes.</summary>
public enum TranscriptDirection
{
    /// <summary>Bytes the client wrote (the server read them).</summary>
    ClientToServer,
    /// <summary>Bytes the server wrote (the client read them).</summary>
    ServerToClient,
}

/// <summary>The whole transcripts file: <c>Data/go-muxado-transcripts.json</c>.</summary>
public sealed record GoTranscriptFile
{
    /// <summary>The file's own description of how the bytes were recorded.</summary>
    [JsonPropertyName("about")]
    public string About { get; init; } = string.Empty;

    /// <summary>The recorded scenarios, in file order.</summary>
    [JsonPropertyName("scenarios")]
    public IReadOnlyList<GoScenario> Scenarios { get; init; } = [];

    /// <summary>The scenario called <paramref name="name"/>; throws when there is none.</summary>
    public GoScenario Scenario(string name) =>
        Scenarios.SingleOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"No scenario '{name}' in the transcripts (have: {string.Join(", ", Scenarios.Select(s => s.Name))}).");
}

/// <summary>One recorded scenario: the frames each side wrote, and their exact bytes when recorded.</summary>
public sealed record GoScenario
{
    [JsonPropertyName("name")]
    public string Name { get; init; } = string.Empty;

    [JsonPropertyName("description")]
    public string Description { get; init; } = string.Empty;

    [JsonPropertyName("client_to_server_frames")]
    public IReadOnlyList<GoFrameRecord> ClientToServerFrames { get; init; } = [];

    [JsonPropertyName("server_to_client_frames")]
    public IReadOnlyList<GoFrameRecord> ServerToClientFrames { get; init; } = [];

    /// <summary>The exact bytes the client wrote, in hex; null when the scenario has large payloads.</summary>
    [JsonPropertyName("client_to_server_hex")]
    public string? ClientToServerHex { get; init; }

    /// <summary>The exact bytes the server wrote, in hex; null when the scenario has large payloads.</summary>
    [JsonPropertyName("server_to_client_hex")]
    public string? ServerToClientHex { get; init; }

    [JsonPropertyName("client_to_server_bytes")]
    public long ClientToServerBytes { get; init; }

    [JsonPropertyName("server_to_client_bytes")]
    public long ServerToClientBytes { get; init; }

    /// <summary>True when frame boundaries vary between runs (compare kinds and totals, not bytes).</summary>
    [JsonPropertyName("timing_dependent")]
    public bool TimingDependent { get; init; }

    /// <summary>Scenario-wide payload generator text, e.g. <c>"pattern, 300000 bytes, split over the DATA frames in order"</c>.</summary>
    [JsonPropertyName("payload_generator")]
    public string? PayloadGenerator { get; init; }

    /// <summary>The frames written in <paramref name="direction"/>, in wire order.</summary>
    public IReadOnlyList<GoFrameRecord> Frames(TranscriptDirection direction) =>
        direction == TranscriptDirection.ClientToServer ? ClientToServerFrames : ServerToClientFrames;

    /// <summary>The recorded hex of <paramref name="direction"/>, or null when it was not recorded.</summary>
    public string? Hex(TranscriptDirection direction) =>
        direction == TranscriptDirection.ClientToServer ? ClientToServerHex : ServerToClientHex;

    /// <summary>The recorded bytes of <paramref name="direction"/>, or null when they were not recorded.</summary>
    public byte[]? Bytes(TranscriptDirection direction) => Hex(direction) is { } hex ? Convert.FromHexString(hex) : null;

    /// <summary>How many bytes were written in <paramref name="direction"/>.</summary>
    public long ByteCount(TranscriptDirection direction) =>
        direction == TranscriptDirection.ClientToServer ? ClientToServerBytes : ServerToClientBytes;

    /// <summary>
    /// The generator of a record's payload: the record's own <c>payload_generator</c>, else the first word of
    /// the scenario's (<c>"pattern, ..."</c> gives <c>"pattern"</c>); null when neither says.
    /// </summary>
    public string? GeneratorFor(GoFrameRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.PayloadGenerator is { } own)
        {
            return own;
        }
        return PayloadGenerator?.Split(',', 2)[0].Trim();
    }

    /// <summary>
    /// The payload of every frame of <paramref name="direction"/> (DATA and unknown bytes, GOAWAY debug
    /// bytes, empty for RST and WNDINC). Payloads recorded only as length + sha256 are regenerated: the
    /// generator's byte index counts from the start of that stream's DATA in this direction, across frames.
    /// </summary>
    /// <exception cref="InvalidDataException">A payload has no generator, or the regenerated bytes do not
    /// match the recorded sha256.</exception>
    public IReadOnlyList<byte[]> Payloads(TranscriptDirection direction)
    {
        var result = new List<byte[]>();
        var streamOffsets = new Dictionary<uint, long>();
        foreach (var record in Frames(direction))
        {
            byte[] payload;
            if (record.KnownPayload is { } known)
            {
                payload = known;
            }
            else
            {
                string generator = GeneratorFor(record)
                    ?? throw new InvalidDataException($"{Name}: {record} has neither payload_hex nor a payload generator.");
                long offset = streamOffsets.GetValueOrDefault(record.Stream);
                payload = GoTranscripts.GeneratePayload(generator, offset, record.Length);
                string sha = GoTranscripts.Sha256Hex(payload);
                if (!string.Equals(sha, record.PayloadSha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException(
                        $"{Name}: regenerated payload of {record} ('{generator}' from stream offset {offset}) has sha256 {sha}, recorded {record.PayloadSha256}.");
                }
            }
            if (record.Type == FrameType.Data)
            {
                streamOffsets[record.Stream] = streamOffsets.GetValueOrDefault(record.Stream) + payload.Length;
            }
            result.Add(payload);
        }
        return result;
    }

    /// <summary>
    /// The frames of <paramref name="direction"/> as <see cref="Frame"/> values, payloads regenerated where needed.
    /// </summary>
    /// <exception cref="InvalidOperationException">A record is not a well-formed frame (a hostile input such as
    /// an RST with a 3-byte body): it has no <see cref="Frame"/> form.</exception>
    public List<Frame> ExpectedFrames(TranscriptDirection direction)
    {
        var payloads = Payloads(direction);
        return Frames(direction).Select((record, i) => record.ToFrame(payloads[i])).ToList();
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>One frame as listed in a transcript (the recorder's decoding of the bytes, field by field).</summary>
public sealed record GoFrameRecord
{
    /// <summary>The type as written in the file: "DATA", "RST", "WNDINC", "GOAWAY" or "UNKNOWN(n)".</summary>
    [JsonPropertyName("type")]
    public string TypeName { get; init; } = string.Empty;

    /// <summary>The low 4 bits of header byte 3.</summary>
    [JsonPropertyName("flags")]
    public byte Flags { get; init; }

    [JsonPropertyName("stream")]
    public uint Stream { get; init; }

    /// <summary>The body length on the wire.</summary>
    [JsonPropertyName("length")]
    public int Length { get; init; }

    /// <summary>DATA or unknown body in hex (absent for large payloads, and for RST/WNDINC/GOAWAY).</summary>
    [JsonPropertyName("payload_hex")]
    public string? PayloadHex { get; init; }

    /// <summary>sha256 (hex) of a large payload that was not recorded in full.</summary>
    [JsonPropertyName("payload_sha256")]
    public string? PayloadSha256 { get; init; }

    /// <summary>How to regenerate a large payload ("pattern" or "zeros"), when the record says.</summary>
    [JsonPropertyName("payload_generator")]
    public string? PayloadGenerator { get; init; }

    /// <summary>WNDINC increment.</summary>
    [JsonPropertyName("increment")]
    public uint? Increment { get; init; }

    /// <summary>RST or GOAWAY error code, as a number.</summary>
    [JsonPropertyName("error_code")]
    public uint? Code { get; init; }

    /// <summary>GOAWAY last stream id.</summary>
    [JsonPropertyName("last_stream")]
    public uint? LastStream { get; init; }

    /// <summary>GOAWAY debug text.</summary>
    [JsonPropertyName("debug")]
    public string? Debug { get; init; }

    /// <summary>The type number parsed from <see cref="TypeName"/>.</summary>
    [JsonIgnore]
    public FrameType Type => GoTranscripts.ParseTypeName(TypeName);

    /// <summary>The flags as <see cref="FrameFlags"/>.</summary>
    [JsonIgnore]
    public FrameFlags FrameFlags => (FrameFlags)Flags;

    /// <summary>Header plus body.</summary>
    [JsonIgnore]
    public int WireLength => Frame.HeaderLength + Length;

    /// <summary>
    /// The payload when the record gives it: DATA/unknown bytes from <see cref="PayloadHex"/>, GOAWAY debug as
    /// UTF-8, empty for RST and WNDINC; null when only a sha256 is recorded.
    /// </summary>
    [JsonIgnore]
    public byte[]? KnownPayload => Type switch
    {
        FrameType.Rst or FrameType.WndInc => [],
        FrameType.GoAway => Encoding.UTF8.GetBytes(Debug ?? string.Empty),
        _ => PayloadHex is null ? null : Convert.FromHexString(PayloadHex),
    };

    /// <summary>The record as a <see cref="Frame"/>; its payload must be known (<see cref="KnownPayload"/>).</summary>
    /// <exception cref="InvalidOperationException">The payload is not known, or the record is not a well-formed frame.</exception>
    public Frame ToFrame() =>
        ToFrame(KnownPayload ?? throw new InvalidOperationException($"{this}: the payload is given only by its sha256; pass it to ToFrame(payload)."));

    /// <summary>
    /// The record as a <see cref="Frame"/> with <paramref name="payload"/> (DATA/unknown bytes or GOAWAY debug
    /// bytes; ignored for RST and WNDINC).
    /// </summary>
    /// <exception cref="InvalidOperationException">The record is not a well-formed frame (a frame error on the wire).</exception>
    public Frame ToFrame(ReadOnlyMemory<byte> payload)
    {
        Frame frame;
        try
        {
            frame = Type switch
            {
                FrameType.Data => Frame.Data(Stream, payload, FrameFlags),
                FrameType.Rst => Frame.Rst(Stream, (ErrorCode)Required(Code, "error_code")),
                FrameType.WndInc => Frame.WndInc(Stream, Required(Increment, "increment")),
                FrameType.GoAway => Frame.GoAway(Required(LastStream, "last_stream"), (ErrorCode)Required(Code, "error_code"), payload),
                _ => Frame.Unknown((byte)Type, FrameFlags, Stream, payload),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidOperationException($"{this} is not a well-formed frame: {e.Message}", e);
        }
        // The factories fix what the type implies (RST and WNDINC bodies are 4 bytes, GOAWAY is on stream 0,
        // only DATA and unknown frames carry flags); a record that says otherwise came from a hostile writer.
        if (frame.Length != Length || frame.StreamId != Stream || frame.Flags != FrameFlags)
        {
            throw new InvalidOperationException(
                $"{this} is not a well-formed frame: as a Frame it would be length {frame.Length}, stream {frame.StreamId}, flags {(byte)frame.Flags}.");
        }
        return frame;
    }

    /// <summary>Like <see cref="ToFrame()"/>, false instead of throwing.</summary>
    public bool TryToFrame(out Frame frame)
    {
        try
        {
            frame = ToFrame();
            return true;
        }
        catch (InvalidOperationException)
        {
            frame = default;
            return false;
        }
    }

    private uint Required(uint? value, string field) =>
        value ?? throw new InvalidOperationException($"{this}: the record has no {field}.");

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{TypeName} flags={Flags} stream={Stream} length={Length}");
}

/// <summary>
/// Loads <c>Data/go-muxado-transcripts.json</c> from the test output directory, and decodes or encodes
/// whole byte streams with the codec.
/// </summary>
public static class GoTranscripts
{
    /// <summary>The file name under the output directory's <c>Data</c> folder.</summary>
    public const string FileName = "go-muxado-transcripts.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        // A field the records do not map is a field some test would silently ignore: fail instead.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly Lazy<GoTranscriptFile> Cached = new(() => Load(DefaultPath));

    /// <summary>Where the test build copies the transcripts (<c>&lt;test dir&gt;/Data/go-muxado-transcripts.json</c>).</summary>
    public static string DefaultPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "Data", FileName);

    /// <summary>The transcripts at <see cref="DefaultPath"/>, parsed once.</summary>
    public static GoTranscriptFile Load() => Cached.Value;

    /// <summary>Parses the transcripts file at <paramref name="path"/>.</summary>
    public static GoTranscriptFile Load(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<GoTranscriptFile>(stream, JsonOptions)
            ?? throw new InvalidDataException($"{path} holds no transcripts.");
    }

    /// <summary>All scenarios of <see cref="Load()"/>.</summary>
    public static IReadOnlyList<GoScenario> Scenarios => Load().Scenarios;

    /// <summary>The scenario called <paramref name="name"/>.</summary>
    public static GoScenario Scenario(string name) => Load().Scenario(name);

    /// <summary>Parses a transcript type name: "DATA", "RST", "WNDINC", "GOAWAY", "UNKNOWN(n)" with n in 4..15.</summary>
    public static FrameType ParseTypeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name)
        {
            case "RST": return FrameType.Rst;
            case "DATA": return FrameType.Data;
            case "WNDINC": return FrameType.WndInc;
            case "GOAWAY": return FrameType.GoAway;
        }
        if (name.StartsWith("UNKNOWN(", StringComparison.Ordinal) && name.EndsWith(')')
            && byte.TryParse(name.AsSpan(8, name.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out byte number)
            && number is > (byte)FrameType.GoAway and <= 0xF)
        {
            return (FrameType)number;
        }
        throw new InvalidDataException($"Unknown frame type name '{name}' in the transcripts.");
    }

    /// <summary>
    /// Decodes a whole byte stream frame by frame with <see cref="FrameReader"/>. Body bytes the reader
    /// reports for discarding (frames over <paramref name="limits"/>) are skipped, and the truncated frame is
    /// returned, as a session would.
    /// </summary>
    /// <exception cref="MuxadoFrameException">A frame breaks the wire format.</exception>
    /// <exception cref="InvalidDataException">The stream ends in the middle of a frame.</exception>
    public static List<Frame> Decode(ReadOnlySequence<byte> bytes, FrameReaderLimits? limits = null)
    {
        var effective = limits ?? FrameReaderLimits.Default;
        var frames = new List<Frame>();
        while (!bytes.IsEmpty)
        {
            if (!FrameReader.TryRead(ref bytes, effective, out var frame, out long discard))
            {
                throw new InvalidDataException($"The stream ends in the middle of a frame: {bytes.Length} bytes left after {frames.Count} frames.");
            }
            if (discard > bytes.Length)
            {
                throw new InvalidDataException($"The stream ends in the body of {frame}: {discard} bytes to skip, {bytes.Length} left.");
            }
            bytes = bytes.Slice(discard);
            frames.Add(frame);
        }
        return frames;
    }

    /// <summary>Decodes a whole byte stream given as one array.</summary>
    public static List<Frame> Decode(byte[] bytes, FrameReaderLimits? limits = null) =>
        Decode(new ReadOnlySequence<byte>(bytes), limits);

    /// <summary>Decodes a whole byte stream given in hex.</summary>
    public static List<Frame> DecodeHex(string hex, FrameReaderLimits? limits = null) =>
        Decode(Convert.FromHexString(hex), limits);

    /// <summary>Encodes <paramref name="frames"/> back to back with <see cref="FrameWriter"/>.</summary>
    public static byte[] Encode(IEnumerable<Frame> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var writer = new ArrayBufferWriter<byte>();
        foreach (var frame in frames)
        {
            FrameWriter.Write(writer, frame);
        }
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Regenerates <paramref name="length"/> bytes of a recorded payload starting at byte
    /// <paramref name="offset"/> of the generated sequence: "pattern" (byte i = (i*7+3) &amp; 0xff) or "zeros".
    /// </summary>
    public static byte[] GeneratePayload(string generator, long offset, int length)
    {
        var bytes = new byte[length];
        switch (generator)
        {
            case "zeros":
                break;
            case "pattern":
                for (int i = 0; i < length; i++)
                {
                    bytes[i] = (byte)(((offset + i) * 7) + 3);
                }
                break;
            default:
                throw new InvalidDataException($"Unknown payload generator '{generator}'.");
        }
        return bytes;
    }

    /// <summary>Lower-case hex sha256 of <paramref name="bytes"/>, as the transcripts write it.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
