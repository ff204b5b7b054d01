using System.Buffers;
using System.Text;
using Muxado.Reactive.Frames;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Frames;

/// <summary>
/// Hand-written byte vectors for every frame kind: decoding the hex gives the frame, encoding the frame
/// gives the hex. Header: 24-bit length, byte 3 = type &lt;&lt; 4 | flags, 31-bit stream id (PROTOCOL.md, "Frame layout").
/// </summary>
[TestFixture]
public sealed class FrameGoldenTests
{
    private static readonly FrameReaderLimits Unlimited = new(Frame.MaxBodyLength, Frame.MaxBodyLength, Frame.MaxBodyLength);

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static TestCaseData Vector(string name, string hex, Frame frame) =>
        new TestCaseData(hex, frame).SetArgDisplayNames(name);

    private static IEnumerable<TestCaseData> DataVectors()
    {
        yield return Vector("DATA no flags", "000002 10 00000001 6869", Frame.Data(1, Ascii("hi")));
        yield return Vector("DATA FIN", "000002 11 00000001 6869", Frame.Data(1, Ascii("hi"), FrameFlags.Fin));
        yield return Vector("DATA SYN", "000002 12 00000001 6869", Frame.Data(1, Ascii("hi"), FrameFlags.Syn));
        yield return Vector("DATA SYN|FIN", "000002 13 00000001 6869", Frame.Data(1, Ascii("hi"), FrameFlags.Syn | FrameFlags.Fin));
        yield return Vector("empty DATA SYN", "000000 12 00000003", Frame.Data(3, default, FrameFlags.Syn));
        yield return Vector("empty DATA FIN, max stream id", "000000 11 7fffffff", Frame.Data(Frame.MaxStreamId, default, FrameFlags.Fin));
        yield return Vector("DATA SYN|FIN empty", "000000 13 00000002", Frame.Data(2, default, FrameFlags.Syn | FrameFlags.Fin));
        yield return Vector("DATA binary, stream 258", "000005 10 00000102 000102feff", Frame.Data(258, new byte[] { 0, 1, 2, 0xfe, 0xff }));
        yield return Vector("DATA with an undefined flag bit kept", "000001 14 00000001 78", Frame.Data(1, Ascii("x"), (FrameFlags)0x4));
        yield return Vector("DATA all four flag bits", "000000 1f 00000009", Frame.Data(9, default, (FrameFlags)0xF));
    }

    private static IEnumerable<TestCaseData> RstVectors()
    {
        yield return Vector("RST NoError", "000004 00 00000001 00000000", Frame.Rst(1, ErrorCode.NoError));
        yield return Vector("RST ProtocolError", "000004 00 00000001 00000001", Frame.Rst(1, ErrorCode.ProtocolError));
        yield return Vector("RST FlowControlError", "000004 00 00000003 00000003", Frame.Rst(3, ErrorCode.FlowControlError));
        yield return Vector("RST StreamClosed", "000004 00 00000005 00000004", Frame.Rst(5, ErrorCode.StreamClosed));
        yield return Vector("RST StreamCancelled", "000004 00 00000001 00000006", Frame.Rst(1, ErrorCode.StreamCancelled));
        yield return Vector("RST AcceptQueueFull, stream 257", "000004 00 00000101 00000009", Frame.Rst(257, ErrorCode.AcceptQueueFull));
        yield return Vector("RST PeerEOF", "000004 00 00000001 0000000f", Frame.Rst(1, ErrorCode.PeerEOF));
        yield return Vector("RST Unknown 0xFF", "000004 00 00000001 000000ff", Frame.Rst(1, ErrorCode.Unknown));
        yield return Vector("RST unlisted code 0x1234", "000004 00 00000007 00001234", Frame.Rst(7, (ErrorCode)0x1234));
        yield return Vector("RST code 0xFFFFFFFF, max stream", "000004 00 7fffffff ffffffff", Frame.Rst(Frame.MaxStreamId, (ErrorCode)0xFFFFFFFF));
    }

    private static IEnumerable<TestCaseData> WndIncVectors()
    {
        yield return Vector("WNDINC 1", "000004 20 00000003 00000001", Frame.WndInc(3, 1));
        yield return Vector("WNDINC 12", "000004 20 00000003 0000000c", Frame.WndInc(3, 12));
        yield return Vector("WNDINC 256 KiB", "000004 20 00000001 00040000", Frame.WndInc(1, 256 * 1024));
        yield return Vector("WNDINC 0x01020304", "000004 20 00000002 01020304", Frame.WndInc(2, 0x01020304));
        yield return Vector("WNDINC max 0x7FFFFFFF", "000004 20 00000003 7fffffff", Frame.WndInc(3, 0x7FFFFFFF));
    }

    private static IEnumerable<TestCaseData> GoAwayVectors()
    {
        yield return Vector("GOAWAY no debug, NoError", "000008 30 00000000 00000000 00000000", Frame.GoAway(0, ErrorCode.NoError));
        yield return Vector("GOAWAY no debug, last 7, ProtocolError", "000008 30 00000000 00000007 00000001", Frame.GoAway(7, ErrorCode.ProtocolError));
        yield return Vector("GOAWAY 'no error'", "000010 30 00000000 00000000 00000000 6e6f206572726f72", Frame.GoAway(0, ErrorCode.NoError, "no error"));
        yield return Vector("GOAWAY PeerEOF 'read EOF from remote peer'",
            "000021 30 00000000 00000003 0000000f 7265616420454f462066726f6d2072656d6f74652070656572",
            Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer"));
        yield return Vector("GOAWAY binary debug, unlisted code, max last id", "00000b 30 00000000 7fffffff 00001234 00ff80",
            Frame.GoAway(Frame.MaxStreamId, (ErrorCode)0x1234, new byte[] { 0x00, 0xff, 0x80 }));
    }

    private static IEnumerable<TestCaseData> UnknownVectors()
    {
        yield return Vector("type 4", "000001 40 00000000 ff", Frame.Unknown(4, FrameFlags.None, 0, new byte[] { 0xff }));
        yield return Vector("type 5 FIN", "000000 51 00000001", Frame.Unknown(5, FrameFlags.Fin, 1, default));
        yield return Vector("type 6 SYN", "000002 62 00000002 beef", Frame.Unknown(6, FrameFlags.Syn, 2, new byte[] { 0xbe, 0xef }));
        yield return Vector("type 7 SYN|FIN", "000003 73 00000003 616263", Frame.Unknown(7, FrameFlags.Syn | FrameFlags.Fin, 3, Ascii("abc")));
        yield return Vector("type 8 flag 4", "000000 84 00000000", Frame.Unknown(8, (FrameFlags)0x4, 0, default));
        yield return Vector("type 9 flag 8, max stream", "000001 98 7fffffff 00", Frame.Unknown(9, (FrameFlags)0x8, Frame.MaxStreamId, new byte[] { 0 }));
        yield return Vector("type 10 (transcript)", "000005 a0 00000000 0102030405", Frame.Unknown(10, FrameFlags.None, 0, new byte[] { 1, 2, 3, 4, 5 }));
        yield return Vector("type 11 flags 0xF", "000000 bf 00000010", Frame.Unknown(11, (FrameFlags)0xF, 16, default));
        yield return Vector("type 12", "000004 c0 00000004 00000000", Frame.Unknown(12, FrameFlags.None, 4, new byte[4]));
        yield return Vector("type 13", "000002 d5 00000001 0a0b", Frame.Unknown(13, (FrameFlags)0x5, 1, new byte[] { 0x0a, 0x0b }));
        yield return Vector("type 14", "000001 ea 00000000 7f", Frame.Unknown(14, (FrameFlags)0xA, 0, new byte[] { 0x7f }));
        yield return Vector("type 15 empty (the GOAWAY desync guard)", "000000 f0 00000000", Frame.Unknown(15, FrameFlags.None, 0, default));
    }

    /// <summary>Encodes through both <see cref="FrameWriter"/> overloads, checks they agree, returns the bytes.</summary>
    internal static byte[] Encode(in Frame frame)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(writer, frame);
        var span = new byte[frame.WireLength + 3];
        int written = FrameWriter.Write(span, frame);
        Assert.That(written, Is.EqualTo(frame.WireLength), "Span overload: bytes written");
        // SequenceEqual rather than Is.EqualTo: NUnit compares arrays element by element, slow for 16 MiB.
        Assert.That(writer.WrittenSpan.SequenceEqual(span.AsSpan(0, written)), Is.True, "IBufferWriter and Span overloads disagree");
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes exactly one frame that fills <paramref name="bytes"/>.</summary>
    internal static Frame DecodeOne(byte[] bytes, FrameReaderLimits? limits = null)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        bool ok = FrameReader.TryRead(ref buffer, limits ?? FrameReaderLimits.Default, out var frame, out long discard);
        Assert.That(ok, Is.True, "TryRead returned false on a whole frame");
        Assert.That(buffer.Length, Is.Zero, "bytes left after the frame");
        Assert.That(discard, Is.Zero, "bytes to discard");
        return frame;
    }

    private static void AssertGolden(string hex, Frame expected)
    {
        var bytes = Hex.Bytes(hex);
        var decoded = DecodeOne(bytes);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded, Is.EqualTo(expected), "decode");
            Assert.That(decoded.IsTruncated, Is.False, "decoded frame truncated");
            Assert.That(Hex.Of(Encode(expected)), Is.EqualTo(Hex.Normalize(hex)), "encode");
        }
    }

    [TestCaseSource(nameof(DataVectors))]
    public void Data(string hex, Frame expected)
    {
        AssertGolden(hex, expected);
        var decoded = DecodeOne(Hex.Bytes(hex));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.Type, Is.EqualTo(FrameType.Data));
            Assert.That(decoded.IsSyn, Is.EqualTo((expected.Flags & FrameFlags.Syn) != 0), "IsSyn");
            Assert.That(decoded.IsFin, Is.EqualTo((expected.Flags & FrameFlags.Fin) != 0), "IsFin");
            Assert.That(decoded.Payload.ToArray(), Is.EqualTo(expected.Payload.ToArray()), "payload bytes");
        }
    }

    [TestCaseSource(nameof(RstVectors))]
    public void Rst(string hex, Frame expected)
    {
        AssertGolden(hex, expected);
        var decoded = DecodeOne(Hex.Bytes(hex));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.Type, Is.EqualTo(FrameType.Rst));
            Assert.That(decoded.Length, Is.EqualTo(4));
            Assert.That(decoded.Payload.IsEmpty, Is.True, "RST keeps no payload");
            // Codes not in the table are kept as their number (PROTOCOL.md, "Error codes").
            Assert.That((uint)decoded.ErrorCode, Is.EqualTo(Convert.ToUInt32(Hex.Normalize(hex)[^8..], 16)), "raw code");
        }
    }

    [Test]
    public void Rst_UnlistedCodeIsKeptAsItsNumber()
    {
        var decoded = DecodeOne(Hex.Bytes("000004 00 00000007 00001234"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.Value, Is.EqualTo(0x1234u));
            Assert.That(Enum.IsDefined(decoded.ErrorCode), Is.False);
            Assert.That(decoded.ErrorCode, Is.EqualTo((ErrorCode)0x1234));
        }
    }

    [TestCaseSource(nameof(WndIncVectors))]
    public void WndInc(string hex, Frame expected)
    {
        AssertGolden(hex, expected);
        var decoded = DecodeOne(Hex.Bytes(hex));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.Type, Is.EqualTo(FrameType.WndInc));
            Assert.That(decoded.Increment, Is.EqualTo(Convert.ToUInt32(Hex.Normalize(hex)[^8..], 16)));
        }
    }

    [Test]
    public void WndInc_ReservedIncrementBitIsMasked()
    {
        var decoded = DecodeOne(Hex.Bytes("000004 20 00000003 80000005"));
        Assert.That(decoded, Is.EqualTo(Frame.WndInc(3, 5)));
    }

    [TestCase(0u)]
    [TestCase(0x80000000u)]
    [TestCase(0xFFFFFFFFu)]
    public void WndInc_FactoryRefusesIncrementsOutside31Bits(uint increment) =>
        Assert.That(() => Frame.WndInc(1, increment), Throws.TypeOf<ArgumentOutOfRangeException>());

    [TestCaseSource(nameof(GoAwayVectors))]
    public void GoAway(string hex, Frame expected)
    {
        AssertGolden(hex, expected);
        var decoded = DecodeOne(Hex.Bytes(hex));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.Type, Is.EqualTo(FrameType.GoAway));
            Assert.That(decoded.StreamId, Is.Zero);
            Assert.That(decoded.LastStreamId, Is.EqualTo(expected.LastStreamId));
            Assert.That(decoded.Value, Is.EqualTo(expected.Value));
            Assert.That(decoded.Payload.ToArray(), Is.EqualTo(expected.Payload.ToArray()), "debug bytes");
            Assert.That(decoded.Length, Is.EqualTo(8 + expected.Payload.Length));
        }
    }

    [Test]
    public void GoAway_DebugTextIsUtf8()
    {
        var decoded = DecodeOne(Hex.Bytes("000010 30 00000000 00000000 00000000 6e6f206572726f72"));
        Assert.That(decoded.DebugText, Is.EqualTo("no error"));
    }

    [Test]
    public void GoAway_ReservedBitOfLastStreamIdIsMasked()
    {
        var decoded = DecodeOne(Hex.Bytes("000008 30 00000000 80000007 00000000"));
        Assert.That(decoded, Is.EqualTo(Frame.GoAway(7, ErrorCode.NoError)));
    }

    [TestCaseSource(nameof(UnknownVectors))]
    public void UnknownTypes(string hex, Frame expected)
    {
        AssertGolden(hex, expected);
        var decoded = DecodeOne(Hex.Bytes(hex));
        using (Assert.EnterMultipleScope())
        {
            Assert.That((byte)decoded.Type, Is.EqualTo(Hex.Bytes(hex)[3] >> 4), "type number kept");
            Assert.That(decoded.IsUnknownType, Is.True);
            Assert.That(decoded.Payload.ToArray(), Is.EqualTo(expected.Payload.ToArray()));
        }
    }

    [Test]
    public void KnownTypesAreNotUnknown()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Frame.Data(1, default).IsUnknownType, Is.False);
            Assert.That(Frame.Rst(1, ErrorCode.NoError).IsUnknownType, Is.False);
            Assert.That(Frame.WndInc(1, 1).IsUnknownType, Is.False);
            Assert.That(Frame.GoAway(0, ErrorCode.NoError).IsUnknownType, Is.False);
        }
    }

    [TestCase((byte)0)]
    [TestCase((byte)1)]
    [TestCase((byte)2)]
    [TestCase((byte)3)]
    [TestCase((byte)16)]
    public void Unknown_FactoryRefusesKnownAndOutOfRangeTypes(byte type) =>
        Assert.That(() => Frame.Unknown(type, FrameFlags.None, 0, default), Throws.TypeOf<ArgumentOutOfRangeException>());

    // --- The reserved top bit of the stream id: masked when read, never written. ---

    [TestCase("000002 12 80000003 6869", "000002 12 00000003 6869")]
    [TestCase("000004 00 80000005 00000004", "000004 00 00000005 00000004")]
    [TestCase("000004 20 ffffffff 00000001", "000004 20 7fffffff 00000001")]
    [TestCase("000001 a0 80000000 01", "000001 a0 00000000 01")]
    [TestCase("000008 30 80000000 00000000 00000000", "000008 30 00000000 00000000 00000000")]
    public void ReservedStreamBit_IsMaskedOnReadAndNotWrittenBack(string withBit, string canonical)
    {
        var decoded = DecodeOne(Hex.Bytes(withBit));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(decoded.StreamId, Is.LessThanOrEqualTo(Frame.MaxStreamId));
            Assert.That(decoded, Is.EqualTo(DecodeOne(Hex.Bytes(canonical))), "same frame as without the bit");
            Assert.That(Hex.Of(Encode(decoded)), Is.EqualTo(Hex.Normalize(canonical)), "re-encoded without the bit");
        }
    }

    [Test]
    public void ReservedStreamBit_WriterClearsItEvenIfAFrameCarriesIt()
    {
        // The factories refuse such ids; build one the way the reader builds frames to reach the writer's own mask.
        var frame = Frame.Decoded(FrameType.Data, FrameFlags.Syn, 0xFFFFFFFF, new byte[] { 0x41 }, 0, 0, 1);
        Assert.That(Hex.Of(Encode(frame)), Is.EqualTo("00000112" + "7fffffff" + "41"));
    }

    [Test]
    public void ReservedStreamBit_FactoriesRefuseIdsAbove31Bits()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => Frame.Data(0x80000001, default), Throws.TypeOf<ArgumentOutOfRangeException>(), "DATA");
            Assert.That(() => Frame.Rst(0x80000001, ErrorCode.NoError), Throws.TypeOf<ArgumentOutOfRangeException>(), "RST");
            Assert.That(() => Frame.WndInc(0x80000001, 1), Throws.TypeOf<ArgumentOutOfRangeException>(), "WNDINC");
            Assert.That(() => Frame.GoAway(0x80000001, ErrorCode.NoError), Throws.TypeOf<ArgumentOutOfRangeException>(), "GOAWAY last id");
            Assert.That(() => Frame.Unknown(4, FrameFlags.None, 0x80000000, default), Throws.TypeOf<ArgumentOutOfRangeException>(), "unknown");
        }
    }

    [Test]
    public void FactoriesRefuseStreamZeroWhereTheWireDoes()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => Frame.Data(0, default), Throws.TypeOf<ArgumentOutOfRangeException>(), "DATA");
            Assert.That(() => Frame.Rst(0, ErrorCode.NoError), Throws.TypeOf<ArgumentOutOfRangeException>(), "RST");
            Assert.That(() => Frame.WndInc(0, 1), Throws.TypeOf<ArgumentOutOfRangeException>(), "WNDINC");
        }
    }

    // --- 24-bit length. ---

    [TestCase(0, "000000")]
    [TestCase(1, "000001")]
    [TestCase(0xFF, "0000ff")]
    [TestCase(0x100, "000100")]
    [TestCase(0xFFFF, "00ffff")]
    [TestCase(0x10000, "010000")]
    [TestCase(0x123456, "123456")]
    [TestCase(0xFFFFFF, "ffffff")]
    public void Length_Is24BitBigEndian(int length, string lengthHex)
    {
        var payload = new byte[length];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((i * 7) + 3);
        }
        var frame = Frame.Data(1, payload, FrameFlags.Fin);
        var bytes = Encode(frame);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Hex.Of(bytes.AsSpan(0, 8)), Is.EqualTo(lengthHex + "11" + "00000001"), "header");
            Assert.That(bytes, Has.Length.EqualTo(8 + length));
            Assert.That(bytes.AsSpan(8).SequenceEqual(payload), Is.True, "body follows the header unchanged");
            Assert.That(DecodeOne(bytes, Unlimited), Is.EqualTo(frame), "decode");
        }
    }

    [TestCase("ffffff 10 00000001", 0xFFFFFF)]
    [TestCase("123456 10 00000001", 0x123456)]
    [TestCase("010000 10 00000001", 0x10000)]
    public void Length_IsReadFromTheHeaderAlone(string header, int length)
    {
        // Over the default DATA limit, the reader answers from the header without waiting for the body.
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes(header));
        var limits = new FrameReaderLimits(0, 0, 0);
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Length, Is.EqualTo(length));
            Assert.That(discard, Is.EqualTo(length));
        }
    }

    [Test]
    public void Length_FactoriesRefuseBodiesOver24Bits()
    {
        var tooLong = new byte[Frame.MaxBodyLength + 1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => Frame.Data(1, tooLong), Throws.TypeOf<ArgumentOutOfRangeException>(), "DATA");
            Assert.That(() => Frame.Unknown(4, FrameFlags.None, 0, tooLong), Throws.TypeOf<ArgumentOutOfRangeException>(), "unknown");
            Assert.That(() => Frame.GoAway(0, ErrorCode.NoError, tooLong.AsMemory(0, Frame.MaxBodyLength - 7)),
                Throws.TypeOf<ArgumentOutOfRangeException>(), "GOAWAY: 8 + debug over 24 bits");
            Assert.That(Frame.GoAway(0, ErrorCode.NoError, tooLong.AsMemory(0, Frame.MaxBodyLength - 8)).Length,
                Is.EqualTo(Frame.MaxBodyLength), "GOAWAY: 8 + debug exactly 24 bits");
        }
    }
}
