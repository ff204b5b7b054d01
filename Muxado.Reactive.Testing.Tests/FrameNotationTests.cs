using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing.Tests;

/// <summary>Frame literals: <see cref="FrameMarbles.ParseFrame"/> and <see cref="FrameMarbles.FormatFrame"/>.</summary>
[TestFixture]
public class FrameNotationTests
{
    private static IEnumerable<TestCaseData> Frames()
    {
        yield return new TestCaseData(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn), "[SYN 1]");
        yield return new TestCaseData(Frame.Data(3, "hi"u8.ToArray(), FrameFlags.Syn), "[SYN 3 \"hi\"]");
        yield return new TestCaseData(Frame.Data(3, "hi"u8.ToArray()), "[DATA 3 \"hi\"]");
        yield return new TestCaseData(Frame.Data(3, ReadOnlyMemory<byte>.Empty), "[DATA 3]");
        yield return new TestCaseData(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin), "[FIN 3]");
        yield return new TestCaseData(Frame.Data(5, "x"u8.ToArray(), FrameFlags.Syn | FrameFlags.Fin), "[SYN|FIN 5 \"x\"]");
        yield return new TestCaseData(Frame.Data(5, "a\"b\\c]"u8.ToArray()), "[DATA 5 \"a\\\"b\\\\c]\"]");
        yield return new TestCaseData(Frame.Data(2, new byte[512]), "[DATA 2 <512 bytes>]");
        yield return new TestCaseData(Frame.Data(2, new byte[] { 0x00, 0xFF, 0x0A }), "[DATA 2 0x00FF0A]");
        yield return new TestCaseData(Frame.Data(2, "x"u8.ToArray(), (FrameFlags)0x4), "[DATA|0x4 2 \"x\"]");
        yield return new TestCaseData(Frame.Rst(7, ErrorCode.StreamCancelled), "[RST 7 StreamCancelled]");
        yield return new TestCaseData(Frame.Rst(7, (ErrorCode)0x99), "[RST 7 0x99]");
        yield return new TestCaseData(Frame.WndInc(1, 100), "[WNDINC 1 100]");
        yield return new TestCaseData(Frame.GoAway(0, ErrorCode.NoError), "[GOAWAY 0 NoError]");
        yield return new TestCaseData(Frame.GoAway(9, ErrorCode.ProtocolError, "bad parity"), "[GOAWAY 9 ProtocolError \"bad parity\"]");
        yield return new TestCaseData(Frame.Unknown(7, FrameFlags.None, 1, new byte[] { 1, 2 }), "[UNKNOWN 7 1 0x0102]");
    }

    [TestCaseSource(nameof(Frames))]
    public void Every_frame_has_a_literal_that_reads_back_as_the_same_frame(Frame frame, string literal)
    {
        Assert.That(FrameMarbles.FormatFrame(frame), Is.EqualTo(literal));
        Assert.That(FrameMarbles.ParseFrame(literal), Is.EqualTo(frame));
    }

    [TestCase("syn 1 'hi'", "[SYN 1 \"hi\"]")]
    [TestCase("  DATA 0x3   \"x\" ", "[DATA 3 \"x\"]")]
    [TestCase("FIN|SYN 1", "[SYN|FIN 1]")]
    [TestCase("DATA|SYN 1", "[SYN 1]")]
    [TestCase("RST 1 6", "[RST 1 StreamCancelled]")]
    [TestCase("rst 1 streamcancelled", "[RST 1 StreamCancelled]")]
    [TestCase("WNDINC 1 +100", "[WNDINC 1 100]")]
    [TestCase("DATA 1 'tab\\there\\n'", "[DATA 1 0x74616209686572650A]")]
    [TestCase("DATA 1 'it\\'s'", "[DATA 1 \"it's\"]")]
    [TestCase("DATA 1 '\\x00\\xff'", "[DATA 1 0x00FF]")]
    [TestCase("DATA 1 'é'", "[DATA 1 0xC3A9]")]
    [TestCase("DATA 1 <1 byte>", "[DATA 1 <1 bytes>]")]
    public void Other_spellings_read_as_the_same_frame(string literal, string canonical)
    {
        Assert.That(FrameMarbles.FormatFrame(FrameMarbles.ParseFrame(literal)), Is.EqualTo(canonical));
    }

    [TestCase("", "empty frame literal")]
    [TestCase("PING 1", "not a frame kind")]
    [TestCase("WNDINC 1", "[WNDINC <stream> <increment>]")]
    [TestCase("WNDINC 1 0", "not a valid frame")]
    [TestCase("RST 1 Bogus", "not an error code")]
    [TestCase("DATA x", "not a stream id")]
    [TestCase("DATA 0 'x'", "not a valid frame")]
    [TestCase("DATA 1 'open", "missing its closing")]
    [TestCase("DATA 1 'a\\q'", "not an escape")]
    [TestCase("DATA 1 0xABC", "not hexadecimal bytes")]
    [TestCase("DATA 1 lots", "not a payload")]
    [TestCase("DATA 1 'a' 'b'", "the form is [DATA|SYN|FIN <stream> [payload]]")]
    [TestCase("UNKNOWN 300 1", "out of range")]
    public void A_bad_literal_says_which_word_is_wrong(string literal, string reason)
    {
        var error = Assert.Throws<FormatException>(() => FrameMarbles.ParseFrame(literal));
        Assert.That(error!.Message, Does.Contain(reason));
    }
}
