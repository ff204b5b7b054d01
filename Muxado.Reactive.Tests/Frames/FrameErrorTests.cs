using System.Buffers;
using Muxado.Reactive.Frames;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Frames;

/// <summary>
/// What the reader does with input that is not one whole, well-formed frame: frame errors
/// (PROTOCOL.md, "Frame errors"), partial frames, and frames larger than the reader's limits.
/// </summary>
[TestFixture]
public sealed class FrameErrorTests
{
    private static MuxadoFrameException ReadError(string hex)
    {
        var bytes = Hex.Bytes(hex);
        return Assert.Throws<MuxadoFrameException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out _, out _);
        })!;
    }

    private static void AssertError(string hex, ErrorCode code, string message)
    {
        var error = ReadError(hex);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Code, Is.EqualTo(code), "code");
            Assert.That(error.Message, Is.EqualTo(message), "message");
        }
    }

    // --- Frame errors, one each. The Go-compatible messages are the GOAWAY debug texts Go sends. ---

    [Test]
    public void Rst_Length3_IsFrameSizeError() =>
        AssertError("000003 00 00000001 000000", ErrorCode.FrameSizeError, "illegal RST frame length: 0x3");

    [Test]
    public void Rst_Length5_IsFrameSizeError() =>
        AssertError("000005 00 00000001 00000004 00", ErrorCode.FrameSizeError, "illegal RST frame length: 0x5");

    [Test]
    public void Rst_BadLength_IsReportedFromTheHeaderWithoutWaitingForTheBody() =>
        // A hostile 16 MiB RST must not make the reader wait for (or buffer) 16 MiB.
        AssertError("ffffff 00 00000001", ErrorCode.FrameSizeError, "illegal RST frame length: 0xffffff");

    [Test]
    public void WndInc_Length3_IsFrameSizeError() =>
        AssertError("000003 20 00000001 000001", ErrorCode.FrameSizeError, "illegal WNDINC frame length: 0x3");

    [Test]
    public void WndInc_Length8_IsFrameSizeError() =>
        AssertError("000008 20 00000001 00000001 00000001", ErrorCode.FrameSizeError, "illegal WNDINC frame length: 0x8");

    [Test]
    public void GoAway_Length7_IsFrameSizeError() =>
        AssertError("000007 30 00000000 00000000 000000", ErrorCode.FrameSizeError, "illegal GOAWAY frame length: 0x7");

    [Test]
    public void GoAway_Length0_IsFrameSizeError() =>
        AssertError("000000 30 00000000", ErrorCode.FrameSizeError, "illegal GOAWAY frame length: 0x0");

    [Test]
    public void Data_OnStream0_IsProtocolError() =>
        AssertError("000002 10 00000000 6869", ErrorCode.ProtocolError, "DATA frame on stream 0");

    [Test]
    public void Data_OnStream0WithOnlyTheReservedBitSet_IsProtocolError() =>
        AssertError("000000 12 80000000", ErrorCode.ProtocolError, "DATA frame on stream 0");

    [Test]
    public void Rst_OnStream0_IsProtocolError() =>
        AssertError("000004 00 00000000 00000001", ErrorCode.ProtocolError, "RST frame on stream 0");

    [Test]
    public void WndInc_OnStream0_IsProtocolError() =>
        AssertError("000004 20 00000000 00000001", ErrorCode.ProtocolError, "WNDINC frame on stream 0");

    [Test]
    public void GoAway_OnStream5_IsProtocolError() =>
        AssertError("000008 30 00000005 00000000 00000000", ErrorCode.ProtocolError, "GOAWAY frame on stream 0x5, must be 0");

    [Test]
    public void WndInc_IncrementZero_IsProtocolError() =>
        AssertError("000004 20 00000001 00000000", ErrorCode.ProtocolError, "WNDINC increment must not be zero, got: 0");

    [Test]
    public void WndInc_IncrementWithOnlyTheReservedBit_IsProtocolError() =>
        AssertError("000004 20 00000001 80000000", ErrorCode.ProtocolError, "WNDINC increment must not be zero, got: 0");

    [Test]
    public void FrameErrors_AreMuxadoExceptions()
    {
        var error = ReadError("000003 00 00000001 000000");
        Assert.That(error, Is.InstanceOf<MuxadoException>());
    }

    [Test]
    public void UnknownTypes_HaveNoLengthOrStreamRules()
    {
        // Unknown frames are skipped whatever their stream and length, even where a known type would be an error.
        var bytes = Hex.Bytes("000003 40 00000000 010203  000000 f0 7fffffff");
        var frames = DecodeAll(new ReadOnlySequence<byte>(bytes), FrameReaderLimits.Default);
        Assert.That(frames, Is.EqualTo(new[]
        {
            Frame.Unknown(4, FrameFlags.None, 0, new byte[] { 1, 2, 3 }),
            Frame.Unknown(15, FrameFlags.None, Frame.MaxStreamId, default),
        }));
    }

    // --- Partial frames: every proper prefix returns false and leaves the buffer as it was. ---

    private static IEnumerable<TestCaseData> WholeFrames()
    {
        yield return new TestCaseData("000002 12 00000003 6869").SetArgDisplayNames("DATA SYN 'hi'");
        yield return new TestCaseData("000000 11 00000003").SetArgDisplayNames("empty DATA FIN");
        yield return new TestCaseData("000004 00 00000005 00000004").SetArgDisplayNames("RST");
        yield return new TestCaseData("000004 20 00000003 0000000c").SetArgDisplayNames("WNDINC");
        yield return new TestCaseData("000010 30 00000000 00000003 00000000 6e6f206572726f72").SetArgDisplayNames("GOAWAY with debug");
        yield return new TestCaseData("000005 a0 00000000 0102030405").SetArgDisplayNames("unknown type 10");
    }

    [TestCaseSource(nameof(WholeFrames))]
    public void PartialFrame_EveryPrefixReturnsFalseAndLeavesTheBufferUntouched(string hex)
    {
        var bytes = Hex.Bytes(hex);
        for (int n = 0; n < bytes.Length; n++)
        {
            foreach (var (shape, prefix) in new[]
            {
                ("one segment", new ReadOnlySequence<byte>(bytes, 0, n)),
                ("one byte per segment", Segments.Chunked(bytes.AsSpan(0, n), 1)),
            })
            {
                var buffer = prefix;
                bool ok = FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var frame, out long discard);
                using (Assert.EnterMultipleScope())
                {
                    Assert.That(ok, Is.False, $"{n} of {bytes.Length} bytes, {shape}: TryRead");
                    Assert.That(buffer.Start, Is.EqualTo(prefix.Start), $"{n} bytes, {shape}: start moved");
                    Assert.That(buffer.End, Is.EqualTo(prefix.End), $"{n} bytes, {shape}: end moved");
                    Assert.That(frame, Is.EqualTo(default(Frame)), $"{n} bytes, {shape}: frame");
                    Assert.That(discard, Is.Zero, $"{n} bytes, {shape}: discard");
                }
            }
        }

        var whole = new ReadOnlySequence<byte>(bytes);
        Assert.That(FrameReader.TryRead(ref whole, FrameReaderLimits.Default, out _, out _), Is.True, "the whole frame");
        Assert.That(whole.Length, Is.Zero);
    }

    [TestCaseSource(nameof(WholeFrames))]
    public void PartialFrame_ConsumesExactlyOneFrameWhenMoreFollow(string hex)
    {
        var first = Hex.Bytes(hex);
        var next = Hex.Bytes("000001 10 00000007 21");
        var buffer = new ReadOnlySequence<byte>([.. first, .. next, 0x00, 0x00]);
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out _, out _), Is.True);
        Assert.That(buffer.ToArray(), Is.EqualTo((byte[])[.. next, 0x00, 0x00]), "after the first frame");
        Assert.That(FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var second, out _), Is.True);
        Assert.That(second, Is.EqualTo(Frame.Data(7, "!"u8.ToArray())));
        Assert.That(buffer.Length, Is.EqualTo(2), "two bytes of a next header stay for later");
    }

    // --- Limits: bodies larger than the reader keeps. ---

    [Test]
    public void Limits_DataLongerThanMaxDataLength_IsReturnedTruncatedFromTheHeaderAlone()
    {
        var limits = FrameReaderLimits.Default with { MaxDataLength = 16 };
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes("000011 12 00000003"));
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Type, Is.EqualTo(FrameType.Data));
            Assert.That(frame.Flags, Is.EqualTo(FrameFlags.Syn));
            Assert.That(frame.StreamId, Is.EqualTo(3u));
            Assert.That(frame.IsTruncated, Is.True);
            Assert.That(frame.Length, Is.EqualTo(17), "wire length");
            Assert.That(frame.Payload.IsEmpty, Is.True, "no payload kept");
            Assert.That(discard, Is.EqualTo(17L));
            Assert.That(buffer.Length, Is.Zero, "header consumed");
        }
    }

    [Test]
    public void Limits_TruncatedData_LeavesTheBodyInTheBufferForTheCallerToDiscard()
    {
        var limits = FrameReaderLimits.Default with { MaxDataLength = 16 };
        var body = Enumerable.Range(0, 17).Select(i => (byte)i).ToArray();
        var next = Hex.Bytes("000004 20 00000003 00000011");
        var buffer = new ReadOnlySequence<byte>([.. Hex.Bytes("000011 10 00000003"), .. body, .. next]);

        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        Assert.That(frame.IsTruncated, Is.True);
        Assert.That(buffer.ToArray(), Is.EqualTo((byte[])[.. body, .. next]), "only the header was consumed");

        buffer = buffer.Slice(discard);
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var after, out _), Is.True);
        Assert.That(after, Is.EqualTo(Frame.WndInc(3, 17)), "the frame after the discarded body");
    }

    [Test]
    public void Limits_DataOfExactlyMaxDataLength_IsKept()
    {
        var limits = FrameReaderLimits.Default with { MaxDataLength = 16 };
        var payload = Enumerable.Range(0, 16).Select(i => (byte)(i + 100)).ToArray();
        var header = Hex.Bytes("000010 10 00000003");

        var headerOnly = new ReadOnlySequence<byte>(header);
        Assert.That(FrameReader.TryRead(ref headerOnly, limits, out _, out _), Is.False, "waits for a body it keeps");

        var buffer = new ReadOnlySequence<byte>([.. header, .. payload]);
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame, Is.EqualTo(Frame.Data(3, payload)));
            Assert.That(frame.IsTruncated, Is.False);
            Assert.That(discard, Is.Zero);
        }
    }

    [Test]
    public void Limits_DefaultKeepsA256KiBDataFrameAndTruncatesOneByteMore()
    {
        var full = FrameGoldenTests.Encode(Frame.Data(1, new byte[256 * 1024]));
        var kept = new ReadOnlySequence<byte>(full);
        Assert.That(FrameReader.TryRead(ref kept, FrameReaderLimits.Default, out var frame, out _), Is.True);
        Assert.That(frame.IsTruncated, Is.False, "256 KiB, the default window, is kept");

        var over = new ReadOnlySequence<byte>(Hex.Bytes("040001 10 00000001"));
        Assert.That(FrameReader.TryRead(ref over, FrameReaderLimits.Default, out var truncated, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(truncated.IsTruncated, Is.True);
            Assert.That(discard, Is.EqualTo(256L * 1024 + 1));
        }
    }

    [Test]
    public void Limits_GoAwayDebugLongerThanMaxDebugLength_KeepsThePrefixAndReportsTheRest()
    {
        var limits = FrameReaderLimits.Default with { MaxDebugLength = 4 };
        // GOAWAY(last 3, ProtocolError, "hello world"): 8 + 11 = 0x13 body bytes.
        var bytes = Hex.Bytes("000013 30 00000000 00000003 00000001 68656c6c6f20776f726c64");
        int keptWire = 8 + 8 + 4;

        var tooShort = new ReadOnlySequence<byte>(bytes, 0, keptWire - 1);
        Assert.That(FrameReader.TryRead(ref tooShort, limits, out _, out _), Is.False, "waits for the kept debug bytes");

        var buffer = new ReadOnlySequence<byte>(bytes, 0, keptWire);
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True,
            "does not wait for the debug bytes it will discard");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame.Type, Is.EqualTo(FrameType.GoAway));
            Assert.That(frame.LastStreamId, Is.EqualTo(3u));
            Assert.That(frame.ErrorCode, Is.EqualTo(ErrorCode.ProtocolError));
            Assert.That(frame.DebugText, Is.EqualTo("hell"));
            Assert.That(frame.Length, Is.EqualTo(19));
            Assert.That(frame.IsTruncated, Is.True);
            Assert.That(discard, Is.EqualTo(7L));
            Assert.That(buffer.Length, Is.Zero);
        }
    }

    [Test]
    public void Limits_GoAwayDebugOfExactlyMaxDebugLength_IsKept()
    {
        var limits = FrameReaderLimits.Default with { MaxDebugLength = 5 };
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes("00000d 30 00000000 00000003 00000001 68656c6c6f"));
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame, Is.EqualTo(Frame.GoAway(3, ErrorCode.ProtocolError, "hello")));
            Assert.That(frame.IsTruncated, Is.False);
            Assert.That(discard, Is.Zero);
        }
    }

    [Test]
    public void Limits_UnknownFrameLongerThanMaxUnknownLength_IsReturnedTruncatedFromTheHeaderAlone()
    {
        var limits = FrameReaderLimits.Default with { MaxUnknownLength = 2 };
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes("000003 a5 00000009"));
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((byte)frame.Type, Is.EqualTo(10));
            Assert.That(frame.Flags, Is.EqualTo((FrameFlags)5));
            Assert.That(frame.StreamId, Is.EqualTo(9u));
            Assert.That(frame.IsTruncated, Is.True);
            Assert.That(frame.Length, Is.EqualTo(3));
            Assert.That(frame.Payload.IsEmpty, Is.True);
            Assert.That(discard, Is.EqualTo(3L));
            Assert.That(buffer.Length, Is.Zero);
        }
    }

    [Test]
    public void Limits_UnknownFrameOfExactlyMaxUnknownLength_IsKept()
    {
        var limits = FrameReaderLimits.Default with { MaxUnknownLength = 3 };
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes("000003 a0 00000000 010203"));
        Assert.That(FrameReader.TryRead(ref buffer, limits, out var frame, out long discard), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(frame, Is.EqualTo(Frame.Unknown(10, FrameFlags.None, 0, new byte[] { 1, 2, 3 })));
            Assert.That(discard, Is.Zero);
        }
    }

    [Test]
    public void Limits_DoNotApplyToRstAndWndInc()
    {
        var limits = new FrameReaderLimits(0, 0, 0);
        var buffer = new ReadOnlySequence<byte>(Hex.Bytes("000004 00 00000001 00000006  000004 20 00000001 00000002"));
        var frames = DecodeAll(buffer, limits);
        Assert.That(frames, Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamCancelled), Frame.WndInc(1, 2) }));
    }

    private static List<Frame> DecodeAll(ReadOnlySequence<byte> buffer, in FrameReaderLimits limits)
    {
        var frames = new List<Frame>();
        while (FrameReader.TryRead(ref buffer, limits, out var frame, out long discard))
        {
            frames.Add(frame);
            buffer = buffer.Slice(discard);
        }
        Assert.That(buffer.Length, Is.Zero, "bytes left over");
        return frames;
    }
}
