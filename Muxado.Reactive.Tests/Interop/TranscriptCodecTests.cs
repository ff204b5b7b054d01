using System.Buffers;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Frames;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>
/// Replays the bytes Go muxado wrote (Data/go-muxado-transcripts.json) through the codec: every recorded
/// stream decodes to the listed frames and re-encodes to the same bytes.
/// </summary>
[TestFixture]
public sealed class TranscriptCodecTests
{
    private static readonly FrameReaderLimits Unlimited = new(Frame.MaxBodyLength, Frame.MaxBodyLength, Frame.MaxBodyLength);

    /// <summary>
    /// Recorded frames that are frame errors (hand-written hostile input). They cannot round-trip: the reader must
    /// throw the error Go answered them with, i.e. the code and debug text of the GOAWAY in the other direction.
    /// </summary>
    private static readonly (string Scenario, TranscriptDirection Direction, int Index)[] HostileFrames =
    [
        ("rst-bad-length", TranscriptDirection.ClientToServer, 0),  // RST with a 3-byte body
        ("wndinc-zero", TranscriptDirection.ClientToServer, 1),     // WNDINC with increment 0
    ];

    private static bool IsHostile(string scenario, TranscriptDirection direction, int index) =>
        HostileFrames.Contains((scenario, direction, index));

    public static IEnumerable<TestCaseData> AllDirections() =>
        from scenario in GoTranscripts.Scenarios
        from direction in new[] { TranscriptDirection.ClientToServer, TranscriptDirection.ServerToClient }
        select new TestCaseData(scenario.Name, direction).SetArgDisplayNames(scenario.Name, direction.ToString());

    [TestCaseSource(nameof(AllDirections))]
    public void Replay(string scenarioName, TranscriptDirection direction)
    {
        var scenario = GoTranscripts.Scenario(scenarioName);
        var records = scenario.Frames(direction);
        Assert.That(records.Sum(r => (long)r.WireLength), Is.EqualTo(scenario.ByteCount(direction)),
            "the listed frames add up to the recorded byte count");

        if (scenario.Hex(direction) is not null)
        {
            ReplayRecordedBytes(scenario, direction);
        }
        else
        {
            ReplayRegeneratedPayloads(scenario, direction);
        }
    }

    /// <summary>Decode the recorded hex frame by frame, compare with the listed frames, re-encode byte for byte.</summary>
    private static void ReplayRecordedBytes(GoScenario scenario, TranscriptDirection direction)
    {
        var bytes = scenario.Bytes(direction)!;
        var records = scenario.Frames(direction);
        Assert.That((long)bytes.Length, Is.EqualTo(scenario.ByteCount(direction)), "hex length vs recorded byte count");

        var buffer = new ReadOnlySequence<byte>(bytes);
        var encoded = new ArrayBufferWriter<byte>();
        for (int i = 0; i < records.Count; i++)
        {
            var record = records[i];
            string where = $"{scenario.Name} {direction} frame #{i} ({record})";
            if (IsHostile(scenario.Name, direction, i))
            {
                AssertRejectedAsGoDid(scenario, direction, record, buffer, where);
                Assert.That(buffer.Length, Is.EqualTo(record.WireLength),
                    $"{where}: the hostile frame is the last thing on the wire (header and body recorded)");
                Assert.That(i, Is.EqualTo(records.Count - 1), $"{where}: nothing may follow a session-fatal frame");
                Assert.That(encoded.WrittenSpan.ToArray(), Is.EqualTo(bytes[..^record.WireLength]),
                    $"{where}: the frames before it re-encode byte for byte");
                return;
            }

            var before = buffer;
            Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var frame, out long discard), Is.True,
                $"{where}: TryRead");
            Assert.That(discard, Is.Zero, $"{where}: bytes to discard");
            Assert.That(before.Length - buffer.Length, Is.EqualTo(record.WireLength), $"{where}: bytes consumed");
            AssertMatches(record, record.KnownPayload!, frame, where);
            Assert.That(frame, Is.EqualTo(record.ToFrame()), $"{where}: equals the record as a Frame");

            FrameWriter.Write(encoded, frame);
        }

        Assert.That(buffer.Length, Is.Zero, $"{scenario.Name} {direction}: bytes after the listed frames");
        Assert.That(Hex.Of(encoded.WrittenSpan), Is.EqualTo(scenario.Hex(direction)), $"{scenario.Name} {direction}: re-encoded stream");
        Assert.That(GoTranscripts.DecodeHex(scenario.Hex(direction)!), Is.EqualTo(scenario.ExpectedFrames(direction)),
            $"{scenario.Name} {direction}: the loader's whole-stream decode");
    }

    /// <summary>
    /// No hex was recorded (payloads over 1 KiB): regenerate the payloads, check their sha256, encode the listed
    /// frames, and decode them back.
    /// </summary>
    private static void ReplayRegeneratedPayloads(GoScenario scenario, TranscriptDirection direction)
    {
        var records = scenario.Frames(direction);
        var payloads = scenario.Payloads(direction);
        var frames = new List<Frame>();
        for (int i = 0; i < records.Count; i++)
        {
            var record = records[i];
            string where = $"{scenario.Name} {direction} frame #{i} ({record})";
            if (record.PayloadSha256 is { } sha)
            {
                Assert.That(GoTranscripts.Sha256Hex(payloads[i]), Is.EqualTo(sha), $"{where}: regenerated payload sha256");
            }
            var frame = record.ToFrame(payloads[i]);
            AssertMatches(record, payloads[i], frame, where);
            frames.Add(frame);
        }

        var encoded = GoTranscripts.Encode(frames);
        Assert.That((long)encoded.Length, Is.EqualTo(scenario.ByteCount(direction)), "encoded length vs recorded byte count");

        // Decode as one buffer, and as TCP-sized segments, with limits that keep every payload.
        Assert.That(GoTranscripts.Decode(encoded, Unlimited), Is.EqualTo(frames), "decoded from one segment");
        Assert.That(GoTranscripts.Decode(Segments.Chunked(encoded, 1460), Unlimited), Is.EqualTo(frames), "decoded from 1460-byte segments");
    }

    private static void AssertRejectedAsGoDid(GoScenario scenario, TranscriptDirection direction, GoFrameRecord record,
        ReadOnlySequence<byte> buffer, string where)
    {
        var reply = scenario.Frames(Other(direction));
        Assert.That(reply, Is.Not.Empty, $"{where}: Go's reply");
        var goAway = reply[^1];
        Assert.That(goAway.Type, Is.EqualTo(FrameType.GoAway), $"{where}: Go answered with GOAWAY");
        Assert.That(record.TryToFrame(out _), Is.False, $"{where}: the record has no well-formed Frame form");

        var error = Assert.Throws<MuxadoFrameException>(() =>
        {
            var copy = buffer;
            FrameReader.TryRead(ref copy, FrameReaderLimits.Default, out _, out _);
        }, where)!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Code, Is.EqualTo((ErrorCode)goAway.Code!.Value), $"{where}: error code (Go's GOAWAY code)");
            Assert.That(error.Message, Is.EqualTo(goAway.Debug), $"{where}: message (Go's GOAWAY debug text)");
        }
    }

    private static TranscriptDirection Other(TranscriptDirection direction) =>
        direction == TranscriptDirection.ClientToServer ? TranscriptDirection.ServerToClient : TranscriptDirection.ClientToServer;

    /// <summary>Field-by-field comparison, so that a failure names the field.</summary>
    private static void AssertMatches(GoFrameRecord record, byte[] payload, Frame frame, string where)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Type, Is.EqualTo(record.Type), $"{where}: type");
            Assert.That(frame.Flags, Is.EqualTo(record.FrameFlags), $"{where}: flags");
            Assert.That(frame.StreamId, Is.EqualTo(record.Stream), $"{where}: stream");
            Assert.That(frame.Length, Is.EqualTo(record.Length), $"{where}: length");
            Assert.That(frame.IsTruncated, Is.False, $"{where}: truncated");
            switch (record.Type)
            {
                case FrameType.Rst:
                    Assert.That((uint)frame.ErrorCode, Is.EqualTo(record.Code), $"{where}: error code");
                    break;
                case FrameType.WndInc:
                    Assert.That(frame.Increment, Is.EqualTo(record.Increment), $"{where}: increment");
                    break;
                case FrameType.GoAway:
                    Assert.That(frame.LastStreamId, Is.EqualTo(record.LastStream), $"{where}: last stream id");
                    Assert.That((uint)frame.ErrorCode, Is.EqualTo(record.Code), $"{where}: error code");
                    Assert.That(frame.DebugText, Is.EqualTo(record.Debug), $"{where}: debug");
                    break;
                default:
                    if (payload.Length <= 4096)
                    {
                        Assert.That(frame.Payload.ToArray(), Is.EqualTo(payload), $"{where}: payload");
                    }
                    else
                    {
                        // NUnit compares arrays element by element; large payloads are compared as spans.
                        Assert.That(frame.Payload.Span.SequenceEqual(payload), Is.True, $"{where}: payload bytes");
                    }
                    break;
            }
        }
    }

    // --- The special cases, on their own. ---

    [Test]
    public void Transcripts_HoldFourteenDistinctScenarios()
    {
        var names = GoTranscripts.Scenarios.Select(s => s.Name).ToList();
        Assert.That(names, Has.Count.EqualTo(14));
        Assert.That(names, Is.Unique);
    }

    [Test]
    public void HostileFrames_WereAnsweredByGoWithAFrameErrorGoAway()
    {
        foreach (var (name, direction, index) in HostileFrames)
        {
            var scenario = GoTranscripts.Scenario(name);
            var goAway = scenario.Frames(Other(direction))[^1];
            Assert.That((ErrorCode)goAway.Code!.Value, Is.AnyOf(ErrorCode.FrameSizeError, ErrorCode.ProtocolError), name);
            Assert.That(index, Is.LessThan(scenario.Frames(direction).Count), name);
        }
    }

    [Test]
    public void RstBadLength_RecordsTheThreeBodyBytesAndIsAFrameSizeError()
    {
        var scenario = GoTranscripts.Scenario("rst-bad-length");
        var bytes = scenario.Bytes(TranscriptDirection.ClientToServer)!;
        Assert.That(bytes, Has.Length.EqualTo(8 + 3), "header and the 3-byte body");
        var error = Assert.Throws<MuxadoFrameException>(() => GoTranscripts.Decode(bytes))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Code, Is.EqualTo(ErrorCode.FrameSizeError));
            Assert.That(error.Message, Is.EqualTo("illegal RST frame length: 0x3"));
        }
    }

    [Test]
    public void WndIncZero_DecodesTheSynThenFailsWithProtocolError()
    {
        var bytes = GoTranscripts.Scenario("wndinc-zero").Bytes(TranscriptDirection.ClientToServer)!;
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var syn, out _), Is.True);
        Assert.That(syn, Is.EqualTo(Frame.Data(1, default, FrameFlags.Syn)));
        var error = Assert.Throws<MuxadoFrameException>(() => FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out _, out _))!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Code, Is.EqualTo(ErrorCode.ProtocolError));
            Assert.That(error.Message, Is.EqualTo("WNDINC increment must not be zero, got: 0"));
        }
    }

    [Test]
    public void PatternPayloads_CountFromTheStartOfTheStreamsData()
    {
        // window-exhaustion's DATA payloads are consecutive slices of one 300000-byte pattern. (Its frame
        // boundaries, 262144 and 271616, are multiples of the pattern's period 256, so restarting the pattern in
        // every frame would give the same bytes here; counting across frames is what the generator text says.)
        var scenario = GoTranscripts.Scenario("window-exhaustion");
        var records = scenario.Frames(TranscriptDirection.ClientToServer);
        long offset = 0;
        foreach (var record in records.Where(r => r.PayloadSha256 is not null))
        {
            var payload = GoTranscripts.GeneratePayload("pattern", offset, record.Length);
            Assert.That(GoTranscripts.Sha256Hex(payload), Is.EqualTo(record.PayloadSha256), $"{record} from offset {offset}");
            offset += record.Length;
        }
        Assert.That(offset, Is.EqualTo(300_000), "the whole pattern");
    }

    [Test]
    public void PatternGenerator_IsTheDocumentedFormula()
    {
        var bytes = GoTranscripts.GeneratePayload("pattern", 254, 4);
        Assert.That(bytes, Is.EqualTo(new byte[] { (254 * 7 + 3) & 0xff, (255 * 7 + 3) & 0xff, 3, 10 }));
        Assert.That(GoTranscripts.GeneratePayload("zeros", 5, 3), Is.EqualTo(new byte[3]));
        Assert.That(() => GoTranscripts.GeneratePayload("ones", 0, 1), Throws.TypeOf<InvalidDataException>());
    }

    [Test]
    public void DefaultLimits_KeepAWholeWindowFrame_AndTruncateTheFrameThatExceedsTheWindow()
    {
        // window-exhaustion's first DATA is exactly the 256 KiB window; data-exceeds-window's is one byte more.
        var full = GoTranscripts.Scenario("window-exhaustion").ExpectedFrames(TranscriptDirection.ClientToServer);
        var decodedFull = GoTranscripts.Decode(GoTranscripts.Encode(full));
        Assert.That(decodedFull, Is.EqualTo(full), "window-exhaustion with default limits");

        var over = GoTranscripts.Scenario("data-exceeds-window").ExpectedFrames(TranscriptDirection.ClientToServer);
        var buffer = new ReadOnlySequence<byte>(GoTranscripts.Encode(over));
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var syn, out _), Is.True);
        Assert.That(syn, Is.EqualTo(over[0]));
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var big, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(big.IsTruncated, Is.True);
            Assert.That(big.Length, Is.EqualTo(262_145));
            Assert.That(big.StreamId, Is.EqualTo(1u));
            Assert.That(discard, Is.EqualTo(262_145L));
            Assert.That(buffer.Length, Is.EqualTo(262_145L), "the body is left for the caller to discard");
        }
    }

    // --- The loader itself. ---

    [TestCase("RST", FrameType.Rst)]
    [TestCase("DATA", FrameType.Data)]
    [TestCase("WNDINC", FrameType.WndInc)]
    [TestCase("GOAWAY", FrameType.GoAway)]
    [TestCase("UNKNOWN(4)", (FrameType)4)]
    [TestCase("UNKNOWN(10)", (FrameType)10)]
    [TestCase("UNKNOWN(15)", (FrameType)15)]
    public void Loader_ParsesTypeNames(string name, FrameType expected) =>
        Assert.That(GoTranscripts.ParseTypeName(name), Is.EqualTo(expected));

    [TestCase("UNKNOWN(3)")]
    [TestCase("UNKNOWN(16)")]
    [TestCase("UNKNOWN()")]
    [TestCase("data")]
    [TestCase("PING")]
    public void Loader_RejectsOtherTypeNames(string name) =>
        Assert.That(() => GoTranscripts.ParseTypeName(name), Throws.TypeOf<InvalidDataException>());

    [Test]
    public void Loader_ReadsEveryFieldOfARecord()
    {
        var scenario = GoTranscripts.Scenario("open-send-fin-reply");
        var goAway = scenario.ServerToClientFrames[^1];
        var data = scenario.ClientToServerFrames[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(scenario.Description, Does.StartWith("client opens stream"));
            Assert.That(scenario.TimingDependent, Is.False);
            Assert.That(goAway.ToFrame(), Is.EqualTo(Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer")));
            Assert.That(data.ToFrame(), Is.EqualTo(Frame.Data(3, "hello muxado"u8.ToArray(), FrameFlags.Syn)));
            Assert.That(scenario.ClientToServerFrames[2].ToFrame(), Is.EqualTo(Frame.WndInc(3, 5)));
            Assert.That(GoTranscripts.Scenario("data-on-unknown-stream").ServerToClientFrames[0].ToFrame(),
                Is.EqualTo(Frame.Rst(5, ErrorCode.StreamClosed)));
            Assert.That(GoTranscripts.Scenario("unknown-frame-type-skipped").ClientToServerFrames[0].ToFrame(),
                Is.EqualTo(Frame.Unknown(10, FrameFlags.None, 0, new byte[] { 1, 2, 3, 4, 5 })));
        }
    }

    [Test]
    public void Loader_ReadsLargePayloadRecordsAndTimingFlags()
    {
        var windowExhaustion = GoTranscripts.Scenario("window-exhaustion");
        var zeros = GoTranscripts.Scenario("data-exceeds-window").ClientToServerFrames[1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(windowExhaustion.TimingDependent, Is.True);
            Assert.That(windowExhaustion.ClientToServerHex, Is.Null);
            Assert.That(windowExhaustion.GeneratorFor(windowExhaustion.ClientToServerFrames[0]), Is.EqualTo("pattern"));
            Assert.That(zeros.PayloadGenerator, Is.EqualTo("zeros"));
            Assert.That(zeros.KnownPayload, Is.Null);
            Assert.That(() => zeros.ToFrame(), Throws.InvalidOperationException, "payload known only by its sha256");
        }
    }

    [Test]
    public void Loader_PayloadsRefuseABadSha256()
    {
        var scenario = GoTranscripts.Scenario("data-exceeds-window");
        var tampered = scenario with
        {
            ClientToServerFrames = [scenario.ClientToServerFrames[0], scenario.ClientToServerFrames[1] with { PayloadGenerator = "pattern" }],
        };
        Assert.That(() => tampered.Payloads(TranscriptDirection.ClientToServer), Throws.TypeOf<InvalidDataException>());
    }

    [Test]
    public void Loader_DecodeRefusesAStreamThatEndsInsideAFrame()
    {
        var bytes = GoTranscripts.Scenario("open-send-fin-reply").Bytes(TranscriptDirection.ClientToServer)!;
        Assert.That(() => GoTranscripts.Decode(bytes[..^1]), Throws.TypeOf<InvalidDataException>());
    }
}
