using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>Issue 12: one line per frame, the fields Go muxado's debug framer prints (type, stream id, length, flags).</summary>
[TestFixture]
public sealed class FrameFormatterTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch;

    private static string Out(Frame frame) => FrameFormatter.Format(new TappedFrame(FrameDirection.Outbound, frame, At));

    private static string In(Frame frame) => FrameFormatter.Format(new TappedFrame(FrameDirection.Inbound, frame, At));

    [Test]
    public void Each_frame_type_has_its_line()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Out(Frame.Data(3, Encoding.ASCII.GetBytes("hello"), FrameFlags.Fin)), Is.EqualTo("-> DATA[3] FIN len=5"));
            Assert.That(Out(Frame.Data(5, default, FrameFlags.Syn)), Is.EqualTo("-> DATA[5] SYN len=0"));
            Assert.That(Out(Frame.Data(7, new byte[2], FrameFlags.Syn | FrameFlags.Fin)), Is.EqualTo("-> DATA[7] SYN|FIN len=2"));
            Assert.That(In(Frame.Data(2, new byte[1])), Is.EqualTo("<- DATA[2] len=1"));
            Assert.That(In(Frame.WndInc(3, 1024)), Is.EqualTo("<- WNDINC[3] 1024"));
            Assert.That(Out(Frame.Rst(9, ErrorCode.StreamClosed)), Is.EqualTo("-> RST[9] StreamClosed"));
            Assert.That(In(Frame.GoAway(11, ErrorCode.NoError)), Is.EqualTo("<- GOAWAY[0] last=11 NoError"));
            Assert.That(Out(Frame.GoAway(4, ErrorCode.ProtocolError, "bad frame")), Is.EqualTo("-> GOAWAY[0] last=4 ProtocolError \"bad frame\""));
            Assert.That(In(Frame.Unknown(9, FrameFlags.Fin, 1, new byte[3])), Is.EqualTo("<- UNKNOWN(9)[1] FIN len=3"));
        });
    }

    [Test]
    public void Codes_without_a_name_and_unknown_flags_are_printed_in_hex()
    {
        Assert.That(Out(Frame.Rst(1, (ErrorCode)0x1234)), Is.EqualTo("-> RST[1] 0x1234"));
        Assert.That(Out(Frame.Data(1, default, (FrameFlags)0x5)), Is.EqualTo("-> DATA[1] FIN flags=0x4 len=0"));
        Assert.That(FrameFormatter.Format(Frame.WndInc(1, 7)), Is.EqualTo("WNDINC[1] 7"), "without a direction");
    }

    [Test]
    public void A_truncated_frame_shows_its_wire_length_and_what_was_kept()
    {
        // The reader drops the body of a DATA frame over its limit and keeps the length it had on the wire.
        var wire = new byte[Frame.HeaderLength + 5];
        FrameWriter.Write(wire, Frame.Data(3, Encoding.ASCII.GetBytes("hello")));
        var buffer = new System.Buffers.ReadOnlySequence<byte>(wire);
        Assert.That(FrameReader.TryRead(ref buffer, new FrameReaderLimits(2, 16, 16), out var frame, out _), Is.True);
        Assert.That(In(frame), Is.EqualTo("<- DATA[3] len=5 kept=0"));
    }

    [Test]
    public void A_debug_text_cannot_break_the_line()
    {
        var line = Out(Frame.GoAway(0, ErrorCode.InternalError, "one\ntwo \"q\" \\"));
        Assert.That(line, Is.EqualTo("-> GOAWAY[0] last=0 InternalError \"one\\u000Atwo \\\"q\\\" \\\\\""));
    }

    [Test]
    public void WriteTo_prints_a_named_line_per_frame_and_flushes_at_the_end()
    {
        var text = new StringWriter { NewLine = "\n" };
        var observer = FrameFormatter.WriteTo(text, "client");
        observer.OnNext(new TappedFrame(FrameDirection.Outbound, Frame.WndInc(3, 10), At));
        observer.OnNext(new TappedFrame(FrameDirection.Inbound, Frame.Rst(3, ErrorCode.StreamCancelled), At));
        observer.OnCompleted();
        Assert.That(text.ToString(), Is.EqualTo("client -> WNDINC[3] 10\nclient <- RST[3] StreamCancelled\n"));
        Assert.That(new TappedFrame(FrameDirection.Inbound, Frame.WndInc(1, 1), At).ToString(), Is.EqualTo("<- WNDINC[1] 1"));
    }
}
