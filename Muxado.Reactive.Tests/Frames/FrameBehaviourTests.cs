using System.Buffers;
using Muxado.Reactive.Frames;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Frames;

/// <summary>
/// Reader and writer behaviour beyond the byte layout: multi-segment input, payload ownership,
/// the writer's refusals, and <see cref="Frame"/> value semantics.
/// </summary>
[TestFixture]
public sealed class FrameBehaviourTests
{
    private static readonly FrameReaderLimits Unlimited = new(Frame.MaxBodyLength, Frame.MaxBodyLength, Frame.MaxBodyLength);

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((i * 7) + seed);
        }
        return bytes;
    }

    /// <summary>A mix of every kind, with one DATA frame above the writer's 16 KiB direct-copy threshold.</summary>
    private static Frame[] MixedFrames() =>
    [
        Frame.Data(3, Pattern(12, 1), FrameFlags.Syn),
        Frame.Unknown(10, FrameFlags.None, 0, Pattern(5, 2)),
        Frame.Data(3, Pattern(20_000, 3)),
        Frame.WndInc(3, 12),
        Frame.Rst(5, ErrorCode.StreamClosed),
        Frame.Data(3, default, FrameFlags.Fin),
        Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer"),
    ];

    private static List<Frame> DecodeAll(ReadOnlySequence<byte> buffer, in FrameReaderLimits limits)
    {
        var frames = new List<Frame>();
        while (FrameReader.TryRead(ref buffer, limits, out var frame, out long discard))
        {
            Assert.That(discard, Is.Zero);
            frames.Add(frame);
        }
        Assert.That(buffer.Length, Is.Zero, "bytes left over");
        return frames;
    }

    // --- Multi-segment input. ---

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    [TestCase(8)]
    [TestCase(13)]
    [TestCase(4096)]
    public void Segments_PayloadSplitAcrossManySegmentsDecodesIdentically(int segmentSize)
    {
        var frames = MixedFrames();
        var bytes = frames.SelectMany(f => FrameGoldenTests.Encode(f)).ToArray();
        var segmented = Segments.Chunked(bytes, segmentSize);
        Assert.That(segmented.IsSingleSegment, Is.False, "the test input really is segmented");

        Assert.That(DecodeAll(segmented, Unlimited), Is.EqualTo(frames));
    }

    [Test]
    public void Segments_CutsInsideEveryHeaderFieldDecodeIdentically()
    {
        var frame = Frame.GoAway(0x01020304, (ErrorCode)0x0a0b0c0d, "debug");
        var bytes = FrameGoldenTests.Encode(frame);
        // Cut between every pair of bytes in turn: length, type/flags, stream id, last id, code, debug.
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var buffer = Segments.Cut(bytes, cut);
            Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var decoded, out _), Is.True, $"cut at {cut}");
            Assert.That(decoded, Is.EqualTo(frame), $"cut at {cut}");
        }
    }

    [Test]
    public void Segments_EmptySegmentsAreHarmless()
    {
        var frame = Frame.Data(7, Pattern(10, 9), FrameFlags.Syn);
        var bytes = FrameGoldenTests.Encode(frame);
        var buffer = Segments.Cut(bytes, 0, 0, 4, 4, 8, 8, 12, bytes.Length);
        Assert.That(DecodeAll(buffer, FrameReaderLimits.Default), Is.EqualTo(new[] { frame }));
    }

    // --- Payload ownership. ---

    private static IEnumerable<TestCaseData> FramesWithPayload()
    {
        yield return new TestCaseData(Frame.Data(1, "hello"u8.ToArray())).SetArgDisplayNames("DATA");
        yield return new TestCaseData(Frame.GoAway(1, ErrorCode.NoError, "hello")).SetArgDisplayNames("GOAWAY debug");
        yield return new TestCaseData(Frame.Unknown(9, FrameFlags.None, 1, "hello"u8.ToArray())).SetArgDisplayNames("unknown");
    }

    [TestCaseSource(nameof(FramesWithPayload))]
    public void DecodedPayloadIsACopy(Frame original)
    {
        var bytes = FrameGoldenTests.Encode(original);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var frame, out _), Is.True);

        Array.Fill(bytes, (byte)0xEE);

        Assert.That(frame.Payload.ToArray(), Is.EqualTo("hello"u8.ToArray()), "payload after the source buffer was overwritten");
        Assert.That(frame, Is.EqualTo(original));
    }

    [Test]
    public void DecodedPayloadFromSegmentsIsACopy()
    {
        var bytes = FrameGoldenTests.Encode(Frame.Data(1, "hello"u8.ToArray()));
        var segmented = Segments.Chunked(bytes, 3);
        var buffer = segmented;
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var frame, out _), Is.True);

        // Overwrite every segment's memory.
        foreach (var memory in segmented)
        {
            System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory).Span.Fill(0xEE);
        }

        Assert.That(frame.Payload.ToArray(), Is.EqualTo("hello"u8.ToArray()));
    }

    // --- Writer. ---

    private static Frame Truncated(string headerHex, FrameReaderLimits limits)
    {
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes(headerHex));
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out _), Is.True);
        Assert.That(frame.IsTruncated, Is.True, "precondition: the frame is truncated");
        return frame;
    }

    private static IEnumerable<TestCaseData> TruncatedFrames()
    {
        yield return new TestCaseData("000011 10 00000003").SetArgDisplayNames("small DATA");
        yield return new TestCaseData("0186a0 10 00000003").SetArgDisplayNames("100000-byte DATA (writer's large path)");
        yield return new TestCaseData("000013 30 00000000 00000003 00000001 68656c6c").SetArgDisplayNames("GOAWAY with debug cut");
        yield return new TestCaseData("000011 a0 00000000").SetArgDisplayNames("unknown");
    }

    [TestCaseSource(nameof(TruncatedFrames))]
    public void Writer_RefusesATruncatedFrame(string hex)
    {
        var frame = Truncated(hex, new FrameReaderLimits(16, 4, 16));
        var writer = new ArrayBufferWriter<byte>();
        var span = new byte[frame.WireLength];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => FrameWriter.Write(writer, frame), Throws.ArgumentException, "IBufferWriter");
            Assert.That(writer.WrittenCount, Is.Zero, "nothing committed to the IBufferWriter");
            Assert.That(() => FrameWriter.Write(span, frame), Throws.ArgumentException, "Span");
        }
    }

    [Test]
    public void Writer_SpanTooSmallIsRefused()
    {
        var frame = Frame.Data(1, "hi"u8.ToArray());
        var span = new byte[frame.WireLength - 1];
        Assert.That(() => FrameWriter.Write(span, frame), Throws.ArgumentException);
    }

    [Test]
    public void Writer_AppendsToWhatIsAlreadyWritten()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(writer, Frame.WndInc(1, 1));
        FrameWriter.Write(writer, Frame.Data(1, Pattern(20_000, 0)));
        FrameWriter.Write(writer, Frame.Rst(1, ErrorCode.StreamReset));
        Assert.That(writer.WrittenCount, Is.EqualTo(12 + 20_008 + 12));
        Assert.That(Hex.Of(writer.WrittenSpan[..12]), Is.EqualTo("000004200000000100000001"));
        Assert.That(Hex.Of(writer.WrittenSpan[^12..]), Is.EqualTo("000004000000000100000007"));
    }

    // --- Value semantics. ---

    [Test]
    public void Equality_ComparesPayloadBytesNotReferences()
    {
        var a = Frame.Data(3, new byte[] { 1, 2, 3 }, FrameFlags.Syn);
        var b = Frame.Data(3, new byte[] { 1, 2, 3 }, FrameFlags.Syn);
        var inBiggerArray = Frame.Data(3, new byte[] { 9, 1, 2, 3, 9 }.AsMemory(1, 3), FrameFlags.Syn);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Equals(b), Is.True, "Equals(Frame)");
            Assert.That(a.Equals((object)b), Is.True, "Equals(object)");
            Assert.That(a == b, Is.True, "==");
            Assert.That(a != b, Is.False, "!=");
            Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()), "hash");
            Assert.That(a, Is.EqualTo(inBiggerArray), "a slice of another array");
            Assert.That(a.GetHashCode(), Is.EqualTo(inBiggerArray.GetHashCode()), "hash of the slice");
        }
    }

    [Test]
    public void Equality_DecodedFrameEqualsTheFactoryFrame()
    {
        var built = Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer");
        var bytes = FrameGoldenTests.Encode(built);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var decoded, out _), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded, Is.EqualTo(built));
            Assert.That(decoded.GetHashCode(), Is.EqualTo(built.GetHashCode()));
        }
    }

    private static IEnumerable<TestCaseData> DifferentPairs()
    {
        static TestCaseData Pair(string name, Frame a, Frame b) => new TestCaseData(a, b).SetArgDisplayNames(name);
        var hi = "hi"u8.ToArray();
        yield return Pair("payload byte", Frame.Data(1, hi), Frame.Data(1, "ho"u8.ToArray()));
        yield return Pair("payload length", Frame.Data(1, hi), Frame.Data(1, "hi!"u8.ToArray()));
        yield return Pair("flags", Frame.Data(1, hi), Frame.Data(1, hi, FrameFlags.Fin));
        yield return Pair("stream", Frame.Data(1, hi), Frame.Data(3, hi));
        yield return Pair("type DATA vs unknown", Frame.Data(1, hi), Frame.Unknown(4, FrameFlags.None, 1, hi));
        yield return Pair("unknown type number", Frame.Unknown(4, FrameFlags.None, 1, hi), Frame.Unknown(5, FrameFlags.None, 1, hi));
        yield return Pair("RST code", Frame.Rst(1, ErrorCode.StreamClosed), Frame.Rst(1, ErrorCode.StreamReset));
        yield return Pair("RST vs WNDINC same number", Frame.Rst(1, (ErrorCode)4), Frame.WndInc(1, 4));
        yield return Pair("WNDINC increment", Frame.WndInc(1, 4), Frame.WndInc(1, 5));
        yield return Pair("GOAWAY last id", Frame.GoAway(1, ErrorCode.NoError), Frame.GoAway(3, ErrorCode.NoError));
        yield return Pair("GOAWAY code", Frame.GoAway(1, ErrorCode.NoError), Frame.GoAway(1, ErrorCode.ProtocolError));
        yield return Pair("GOAWAY debug", Frame.GoAway(1, ErrorCode.NoError, "a"), Frame.GoAway(1, ErrorCode.NoError, "b"));
        yield return Pair("truncated vs empty", Truncated("000011 10 00000003", new FrameReaderLimits(16, 4, 16)), Frame.Data(3, default));
    }

    [TestCaseSource(nameof(DifferentPairs))]
    public void Equality_AnyFieldDifferenceMakesFramesUnequal(Frame a, Frame b)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Equals(b), Is.False, "Equals");
            Assert.That(b.Equals(a), Is.False, "Equals, swapped");
            Assert.That(a == b, Is.False, "==");
            Assert.That(a != b, Is.True, "!=");
        }
    }

    [Test]
    public void Equality_HashesSpreadOverPayloads()
    {
        // Not a guarantee of HashCode, but with 256 different one-byte payloads a constant hash would show.
        var hashes = Enumerable.Range(0, 256).Select(i => Frame.Data(1, new[] { (byte)i }).GetHashCode()).Distinct().Count();
        Assert.That(hashes, Is.GreaterThan(200));
    }

    [Test]
    public void Equality_IsNotEqualToOtherObjects()
    {
        var frame = Frame.Data(1, "hi"u8.ToArray());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Equals(null), Is.False);
            Assert.That(frame.Equals("DATA"), Is.False);
        }
    }

    private static IEnumerable<TestCaseData> Readable()
    {
        static TestCaseData Case(Frame frame, string text) => new TestCaseData(frame, text).SetArgDisplayNames(text);
        yield return Case(Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn | FrameFlags.Fin), "DATA[3 SYN|FIN] \"hi\"");
        yield return Case(Frame.Data(3, default, FrameFlags.Syn), "DATA[3 SYN] \"\"");
        yield return Case(Frame.Data(3, default, FrameFlags.Fin), "DATA[3 FIN] \"\"");
        yield return Case(Frame.Data(1, new byte[] { 0, 1, 0xff }), "DATA[1] 0x0001FF");
        yield return Case(Frame.Data(1, new byte[100]), "DATA[1] <100 bytes>");
        yield return Case(Frame.Data(1, default, (FrameFlags)0x4), "DATA[1 0x4] \"\"");
        yield return Case(Frame.Rst(5, ErrorCode.StreamClosed), "RST[5] StreamClosed");
        yield return Case(Frame.Rst(5, (ErrorCode)0x1234), "RST[5] 4660");
        yield return Case(Frame.WndInc(3, 12), "WNDINC[3] +12");
        yield return Case(Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer"), "GOAWAY[last 3] PeerEOF \"read EOF from remote peer\"");
        yield return Case(Frame.Unknown(10, FrameFlags.None, 0, new byte[] { 1, 2, 3, 4, 5 }), "UNKNOWN(10)[0] 0x0102030405");
        yield return Case(Truncated("000011 10 00000003", new FrameReaderLimits(16, 4, 16)), "DATA[3] <17 bytes, 0 kept>");
    }

    [TestCaseSource(nameof(Readable))]
    public void ToString_IsReadable(Frame frame, string expected) =>
        Assert.That(frame.ToString(), Is.EqualTo(expected));
}
