using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>The peer's GOAWAYs: RFC 9113 §6.8's rule that the last stream id may only go down.</summary>
public class GoAwayTests
{
    [Test]
    public void A_second_goaway_raising_the_last_id_is_a_protocol_error()
    {
        var h = new CoreHarness(SessionRole.Client);
        h.OpenLocal();
        h.OpenLocal();
        h.TakeWritten();
        Assert.That(h.Receive(Frame.GoAway(3, ErrorCode.NoError, "draining")), Is.Null);

        var fault = h.Receive(Frame.GoAway(5, ErrorCode.NoError, "changed my mind"));
        Assert.That(fault, Is.EqualTo(new SessionFault(ErrorCode.ProtocolError, "GOAWAY last stream id went up from 0x3 to 0x5")));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.GoAway(0, ErrorCode.ProtocolError, "GOAWAY last stream id went up from 0x3 to 0x5") }));
        Assert.That(h.GoAways, Has.Count.EqualTo(1), "the raising GOAWAY is not reported as news");
    }

    [Test]
    public void A_repeated_goaway_with_the_same_or_a_lower_last_id_updates_the_report_and_cuts_streams_above_it()
    {
        var h = new CoreHarness(SessionRole.Client);
        var s3 = h.OpenLocal();
        var s5 = h.OpenLocal();
        var s7 = h.OpenLocal();

        Assert.That(h.Receive(Frame.GoAway(5, ErrorCode.NoError, "draining")), Is.Null);
        Assert.That(s7.ResetWith, Is.EqualTo((ErrorCode.RemoteGoneAway, true)));
        Assert.That(s5.ResetWith, Is.Null);

        Assert.That(h.Receive(Frame.GoAway(5, ErrorCode.NoError, "still draining")), Is.Null, "the same last id");
        Assert.That(h.Receive(Frame.GoAway(3, ErrorCode.InternalError, "shutting down")), Is.Null, "a lower last id");
        Assert.That(s5.ResetWith, Is.EqualTo((ErrorCode.RemoteGoneAway, true)));
        Assert.That(s3.ResetWith, Is.Null);
        Assert.That(h.Core.StreamCount, Is.EqualTo(1));
        Assert.That(h.GoAways, Is.EqualTo(new[]
        {
            (5u, ErrorCode.NoError, "draining"),
            (5u, ErrorCode.NoError, "still draining"),
            (3u, ErrorCode.InternalError, "shutting down"),
        }));
        Assert.That(h.Written.Where(f => f.Type != FrameType.Data), Is.Empty, "nothing to answer");
    }
}
