using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// Limits an honest peer never hits (PROTOCOL.md, "Limits Go does not have and we do"): memory across streams is
/// bounded when streams are admitted, never by resetting a stream whose peer kept to its window; the accept
/// backlog is the shell's; the shell may cap what one send writes.
/// </summary>
public class AdmissionTests
{
    private static readonly ReadOnlyMemory<byte> None = ReadOnlyMemory<byte>.Empty;

    [Test]
    public void With_default_options_256_full_unread_windows_and_a_257th_streams_full_window_frame_are_all_accepted()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 1000 });
        int window = h.Options.WindowSize;
        for (int i = 0; i <= 256; i++)
        {
            uint id = (uint)(2 * i) + 1;
            Assert.That(h.Receive(Frame.Data(id, None, FrameFlags.Syn), Frame.Data(id, new byte[window])), Is.Null);
        }

        Assert.That(h.Written, Is.Empty, "no stream reset: each peer kept to its window");
        Assert.That(h.Streams.Values.Where(s => s.ResetWith is not null), Is.Empty);
        Assert.That(h.Core.BufferedBytes, Is.EqualTo(257L * window), "beyond the old 64 MiB");
    }

    [Test]
    public void A_lower_cap_refuses_the_syn_with_stream_refused_instead_of_resetting_with_flow_control_error()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024, MaxBufferedBytes = 4 * 1024 });
        for (uint id = 1; id <= 7; id += 2)
        {
            h.Receive(Frame.Data(id, None, FrameFlags.Syn), Frame.Data(id, new byte[1024]));
        }
        Assert.That(h.Written, Is.Empty, "four windows fit");

        Assert.That(h.Receive(Frame.Data(9, new byte[1024], FrameFlags.Syn)), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(9, ErrorCode.StreamRefused) }));
        Assert.That(h.Streams.ContainsKey(9), Is.False, "never handed to the shell");
        Assert.That(h.Core.StreamCount, Is.EqualTo(4));

        h.Core.Close(1);
        h.TakeWritten();
        Assert.That(h.Receive(Frame.Data(11, new byte[1024], FrameFlags.Syn)), Is.Null);
        Assert.That(h.Written, Is.Empty, "a closed stream's window is free again");
    }

    [Test]
    public void Streams_we_open_do_not_count_against_the_cap()
    {
        var h = new CoreHarness(SessionRole.Client, new MuxSessionOptions { WindowSize = 1024, MaxBufferedBytes = 1024 });
        for (int i = 0; i < 3; i++)
        {
            var ours = h.OpenLocal();
            h.Receive(Frame.Data(ours.Id, new byte[1024]));
        }
        h.TakeWritten();
        Assert.That(h.Receive(Frame.Data(2, None, FrameFlags.Syn)), Is.Null);
        Assert.That(h.Written, Is.Empty, "the peer's first stream fits");
        Assert.That(h.Receive(Frame.Data(4, None, FrameFlags.Syn)), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(4, ErrorCode.StreamRefused) }), "its second does not");
    }

    [Test]
    public void The_cap_must_hold_one_window_and_may_be_the_binding_limit()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MuxSessionOptions { MaxBufferedBytes = 256 * 1024 - 1 }.Validate());
        Assert.That(error!.ParamName, Is.EqualTo(nameof(MuxSessionOptions.MaxBufferedBytes)));
        Assert.DoesNotThrow(() => new MuxSessionOptions { MaxBufferedBytes = 256 * 1024 }.Validate());
        var defaults = new MuxSessionOptions();
        Assert.That(defaults.MaxBufferedBytes, Is.EqualTo((long)defaults.MaxIncomingStreams * defaults.WindowSize), "consistent defaults");
    }

    [Test]
    public void A_full_accept_queue_in_the_shell_is_answered_with_accept_queue_full_and_the_stream_forgotten()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 1 });
        h.Receive(Frame.Data(1, None, FrameFlags.Syn));
        Assert.That(h.Receive(Frame.Data(3, new byte[100], FrameFlags.Syn)), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(3, ErrorCode.AcceptQueueFull) }));
        Assert.That(h.Core.StreamCount, Is.EqualTo(1));

        Assert.That(h.Receive(Frame.Data(3, new byte[100]), Frame.Data(3, None, FrameFlags.Fin)), Is.Null);
        Assert.That(h.Written, Is.Empty, "the peer's DATA sent before it read our RST is dropped silently");
        Assert.That(h.Receive(Frame.Data(3, None, FrameFlags.Syn))!.Code, Is.EqualTo(ErrorCode.ProtocolError), "the refused id counts as used");
    }

    [Test]
    public void A_refused_stream_does_not_count_against_the_stream_limit()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 1, MaxIncomingStreams = 2 });
        h.Receive(Frame.Data(1, None, FrameFlags.Syn), Frame.Data(3, None, FrameFlags.Syn));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(3, ErrorCode.AcceptQueueFull) }));
        h.Accept(1);
        h.Receive(Frame.Data(5, None, FrameFlags.Syn));
        Assert.That(h.Written, Is.Empty, "stream 5 is the second open stream, not the third");
    }

    [Test]
    public void Send_writes_at_most_max_bytes_and_the_rest_follows_in_later_calls()
    {
        var h = new CoreHarness(SessionRole.Client, new MuxSessionOptions { MaxFramePayload = 100 });
        var s = h.OpenLocal();
        h.TakeWritten();
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();

        Assert.That(h.Core.Send(s.Id, data, maxBytes: 250).BytesSent, Is.EqualTo(250));
        Assert.That(h.TakeWritten().Select(f => f.Length), Is.EqualTo(new[] { 100, 100, 50 }));
        Assert.That(h.Core.Send(s.Id, data.AsMemory(250), maxBytes: 0).BytesSent, Is.Zero, "a full write queue: nothing goes out");
        Assert.That(h.Written, Is.Empty);
        Assert.That(h.Core.Send(s.Id, data.AsMemory(250)).BytesSent, Is.EqualTo(750));
        Assert.That(h.TakeWritten().SelectMany(f => f.Payload.ToArray()), Is.EqualTo(data.Skip(250)));
        Assert.That(() => h.Core.Send(s.Id, data, maxBytes: -1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Send_is_bounded_by_the_window_and_max_bytes_together()
    {
        var h = new CoreHarness(SessionRole.Client, new MuxSessionOptions { WindowSize = 1024 });
        var s = h.OpenLocal();
        Assert.That(h.Core.Send(s.Id, new byte[2000], maxBytes: 1500).BytesSent, Is.EqualTo(1024), "the window is smaller");
        h.Receive(Frame.WndInc(s.Id, 1024));
        Assert.That(h.Core.Send(s.Id, new byte[2000], maxBytes: 10).BytesSent, Is.EqualTo(10), "the queue's room is smaller");
    }
}
