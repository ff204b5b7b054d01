using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>The protocol core fed frame by frame; every hostile input of PROTOCOL.md.</summary>
public class ProtocolCoreTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Test]
    public void Ids_follow_go_client_from_3_server_from_2_step_2()
    {
        var client = new CoreHarness(SessionRole.Client);
        var server = new CoreHarness(SessionRole.Server);
        Assert.That(new[] { client.OpenLocal().Id, client.OpenLocal().Id }, Is.EqualTo(new uint[] { 3, 5 }));
        Assert.That(new[] { server.OpenLocal().Id, server.OpenLocal().Id }, Is.EqualTo(new uint[] { 2, 4 }));
    }

    [Test]
    public void Open_sends_an_empty_syn_and_data_follows_in_later_frames()
    {
        var h = new CoreHarness(SessionRole.Client);
        var s = h.OpenLocal();
        var sent = h.Core.Send(s.Id, B("hello"));
        Assert.That(sent.BytesSent, Is.EqualTo(5));
        h.Core.CloseWrite(s.Id);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[]
        {
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, B("hello")),
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
        }));
    }

    [Test]
    public void Without_empty_syn_the_syn_rides_on_data_but_never_with_fin()
    {
        var h = new CoreHarness(SessionRole.Client, new MuxSessionOptions { OpenWithEmptySyn = false });
        var a = h.OpenLocal();
        h.Core.CloseWrite(a.Id);
        var b = h.OpenLocal();
        h.Core.Send(b.Id, B("x"));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[]
        {
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin),
            Frame.Data(5, B("x"), FrameFlags.Syn),
        }));
    }

    [Test]
    public void Wrong_parity_syn_is_a_protocol_error_with_gos_text()
    {
        var h = new CoreHarness(SessionRole.Server);
        var fault = h.Receive(Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        Assert.That(fault!.Code, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[]
        {
            Frame.GoAway(1, ErrorCode.ProtocolError, "initiated stream id has wrong parity for remote endpoint: 0x2"),
        }));
        Assert.That(h.Core.IsClosed, Is.True);
    }

    [Test]
    public void A_syn_for_an_open_peer_id_is_a_protocol_error_with_gos_text()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Data(5, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)), Is.Null);
        var fault = h.Receive(Frame.Data(5, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        Assert.That(fault, Is.EqualTo(new SessionFault(ErrorCode.ProtocolError, "initiated stream id was already used: 0x5")));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.GoAway(5, ErrorCode.ProtocolError, "initiated stream id was already used: 0x5") }));
    }

    [Test]
    public void Peer_may_start_at_any_id_of_its_parity()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Data(1, B("hi"), FrameFlags.Syn | FrameFlags.Fin)), Is.Null);
        Assert.That(h.Streams[1].Data, Is.EqualTo(B("hi")));
        Assert.That(h.Streams[1].Fin, Is.True);
    }

    [Test]
    public void Data_on_unknown_stream_is_answered_with_rst_stream_closed()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Data(5, B("abc"))), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(5, ErrorCode.StreamClosed) }));
    }

    [Test]
    public void Empty_fin_on_unknown_stream_is_ignored()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Data(7, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)), Is.Null);
        Assert.That(h.Written, Is.Empty);
    }

    [Test]
    public void Unknown_frame_types_are_skipped()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Unknown(0xA, FrameFlags.None, 0, new byte[] { 1, 2, 3, 4, 5 })), Is.Null);
        Assert.That(h.Receive(Frame.Data(1, B("hi"), FrameFlags.Syn | FrameFlags.Fin)), Is.Null);
        Assert.That(h.Written, Is.Empty);
        Assert.That(h.Streams[1].Data, Is.EqualTo(B("hi")));
    }

    [Test]
    public void Repeated_empty_fin_is_ignored_but_data_after_fin_is_reset()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, B("a"), FrameFlags.Syn), Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin));
        Assert.That(h.Receive(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)), Is.Null);
        Assert.That(h.Written, Is.Empty);
        h.Receive(Frame.Data(1, B("late")));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }));
        Assert.That(h.Streams[1].ResetWith, Is.EqualTo((ErrorCode.StreamClosed, false)));
    }

    [Test]
    public void Rst_and_wndinc_on_unknown_streams_are_ignored()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Frame.Rst(9, ErrorCode.StreamCancelled), Frame.WndInc(9, 100)), Is.Null);
        Assert.That(h.Written, Is.Empty);
    }

    [Test]
    public void Rst_from_peer_resets_the_stream()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, B("q"), FrameFlags.Syn), Frame.Rst(1, ErrorCode.StreamCancelled));
        Assert.That(h.Streams[1].ResetWith, Is.EqualTo((ErrorCode.StreamCancelled, true)));
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Data_beyond_the_window_resets_only_that_stream_with_flow_control_error()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024 });
        h.Receive(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn), Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        Assert.That(h.Receive(Frame.Data(1, new byte[1000])), Is.Null);
        Assert.That(h.Receive(Frame.Data(1, new byte[25])), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.FlowControlError) }));
        Assert.That(h.Streams[1].ResetWith, Is.EqualTo((ErrorCode.FlowControlError, false)));
        Assert.That(h.Receive(Frame.Data(3, new byte[1024])), Is.Null, "the other stream still has its whole window");
        Assert.That(h.Streams[3].Data, Has.Count.EqualTo(1024));
        Assert.That(h.Core.IsClosed, Is.False);
    }

    [Test]
    public void Truncated_oversized_data_is_reset_before_its_payload_is_read()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        var oversized = Frame.Decoded(FrameType.Data, FrameFlags.None, 1, ReadOnlyMemory<byte>.Empty, 0, 0, 262145);
        Assert.That(h.Receive(oversized), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.FlowControlError) }));
        Assert.That(h.Streams[1].Data, Is.Empty);
    }

    [Test]
    public void Credit_returns_on_consumption_coalesced_never_on_receipt()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024 });
        h.Receive(Frame.Data(1, new byte[100], FrameFlags.Syn), Frame.Data(1, new byte[100]), Frame.Data(1, new byte[100]));
        Assert.That(h.Written, Is.Empty, "no credit on receipt");
        h.Core.Consumed(1, 100);
        h.Core.Consumed(1, 100);
        Assert.That(h.Written, Is.Empty, "the reader is not idle and owes less than half the window");
        h.Core.Consumed(1, 100);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.WndInc(1, 300) }), "idle: all owed credit at once");
    }

    [Test]
    public void Credit_returns_at_half_the_window_for_a_busy_reader()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024 });
        h.Receive(Frame.Data(1, new byte[600], FrameFlags.Syn), Frame.Data(1, new byte[400]));
        h.Core.Consumed(1, 300);
        Assert.That(h.Written, Is.Empty);
        h.Core.Consumed(1, 300);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.WndInc(1, 600) }));
    }

    [Test]
    public void No_credit_after_the_peer_finished_sending()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, new byte[10], FrameFlags.Syn | FrameFlags.Fin));
        h.Core.Consumed(1, 10);
        Assert.That(h.Written, Is.Empty);
    }

    [Test]
    public void Sender_stops_at_the_window_and_resumes_on_wndinc()
    {
        var h = new CoreHarness(SessionRole.Client, new MuxSessionOptions { WindowSize = 1024, MaxFramePayload = 512 });
        var s = h.OpenLocal();
        h.TakeWritten();
        Assert.That(h.Core.Send(s.Id, new byte[1500]).BytesSent, Is.EqualTo(1024));
        Assert.That(h.TakeWritten().Select(f => f.Length), Is.EqualTo(new[] { 512, 512 }));
        Assert.That(h.Core.Send(s.Id, new byte[476]).BytesSent, Is.Zero);
        h.Receive(Frame.WndInc(s.Id, 300));
        Assert.That(s.WindowOpened, Is.EqualTo(1));
        Assert.That(h.Core.Send(s.Id, new byte[476]).BytesSent, Is.EqualTo(300));
    }

    [Test]
    public void Window_overflowing_2_pow_31_is_a_flow_control_error_for_the_stream()
    {
        var h = new CoreHarness(SessionRole.Client);
        var s = h.OpenLocal();
        h.TakeWritten();
        h.Receive(Frame.WndInc(s.Id, 0x7FFFFFFF));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(s.Id, ErrorCode.FlowControlError) }));
        Assert.That(s.ResetWith, Is.EqualTo((ErrorCode.FlowControlError, false)));
    }

    [Test]
    public void Accept_backlog_overflow_is_answered_with_accept_queue_full_and_forgotten()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 2 });
        h.Receive(
            Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(5, new byte[10], FrameFlags.Syn));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(5, ErrorCode.AcceptQueueFull) }));
        Assert.That(h.Core.StreamCount, Is.EqualTo(2));
        h.Accept(1);
        Assert.That(h.Receive(Frame.Data(7, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn)), Is.Null);
        Assert.That(h.Written, Is.Empty, "accepting made room");
    }

    [Test]
    public void Concurrent_stream_limit_refuses_with_stream_refused()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { MaxIncomingStreams = 1 });
        h.Receive(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        h.Accept(1);
        h.Receive(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(3, ErrorCode.StreamRefused) }));
    }

    [Test]
    public void After_our_goaway_new_syn_is_refused_and_go_padding_follows()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        h.Core.GoAway(ErrorCode.NoError, "bye", sessionStaysOpen: true);
        h.Receive(Frame.Data(3, B("x"), FrameFlags.Syn));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[]
        {
            Frame.GoAway(1, ErrorCode.NoError, "bye"),
            Frame.Unknown(0xF, FrameFlags.None, 0, ReadOnlyMemory<byte>.Empty),
            Frame.Rst(3, ErrorCode.StreamRefused),
        }));
    }

    [Test]
    public void Peer_goaway_cuts_our_streams_above_last_id_and_blocks_opens()
    {
        var h = new CoreHarness(SessionRole.Client);
        var kept = h.OpenLocal();
        var cut = h.OpenLocal();
        h.Receive(Frame.GoAway(kept.Id, ErrorCode.NoError, "bye"));
        Assert.That(cut.ResetWith, Is.EqualTo((ErrorCode.RemoteGoneAway, true)));
        Assert.That(kept.ResetWith, Is.Null);
        Assert.That(h.GoAways, Is.EqualTo(new[] { (kept.Id, ErrorCode.NoError, "bye") }));
        Assert.That(h.Core.TryOpen(new RecordingStream(), out _), Is.EqualTo(ErrorCode.RemoteGoneAway));
    }

    [Test]
    public void Stream_ids_run_out_with_streams_exhausted()
    {
        var h = new CoreHarness(SessionRole.Server);
        typeof(Muxado.Reactive.Protocol.ProtocolCore)
            .GetField("_nextLocalId", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .SetValue(h.Core, (long)Frame.MaxStreamId - 1);
        Assert.That(h.Core.TryOpen(new RecordingStream(), out uint last), Is.EqualTo(ErrorCode.NoError));
        Assert.That(last, Is.EqualTo(Frame.MaxStreamId - 1));
        Assert.That(h.Core.TryOpen(new RecordingStream(), out _), Is.EqualTo(ErrorCode.StreamsExhausted));
    }

    [Test]
    public void Transport_eof_sends_goaway_peer_eof_as_go_does()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        var fault = h.Core.TransportEnded();
        Assert.That(fault.Code, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.GoAway(3, ErrorCode.PeerEOF, "read EOF from remote peer") }));
    }
}
