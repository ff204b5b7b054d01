using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// PROTOCOL.md, "Stream lifecycle", Close, the "We:" part: a close never leaves the peer's writer waiting for ever,
/// the stream leaves the table at once, and the peer's frames that race our close or our RST cost no budget.
/// </summary>
public class CloseTests
{
    private static readonly ReadOnlyMemory<byte> None = ReadOnlyMemory<byte>.Empty;

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    /// <summary>A budget that never refills and allows one charged frame: any charge beyond it ends the session.</summary>
    private static MuxSessionOptions Strict(MuxSessionOptions? options = null) =>
        (options ?? new MuxSessionOptions()) with { ReplyBudgetBurst = 1, ReplyBudgetPerSecond = 0 };

    [Test]
    public void Closing_with_unread_data_while_the_peer_writes_sends_rst_stream_closed()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, B("abc"), FrameFlags.Syn));
        h.Core.Close(1);

        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }), "no FIN: the RST ends both directions");
        Assert.That(h.Core.StreamCount, Is.Zero);
        Assert.That(h.Core.BufferedBytes, Is.Zero);
        Assert.That(h.Streams[1].ResetWith, Is.Null, "the application closed it: the core tells its sink nothing");
    }

    [Test]
    public void Data_racing_our_rst_is_dropped_silently_and_costs_no_budget()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        for (uint id = 1; id < 40; id += 2)
        {
            h.Receive(Frame.Data(id, B("request"), FrameFlags.Syn));
            h.Accept(id);
            h.Core.Close(id);
            Assert.That(h.Receive(Frame.Data(id, B("more")), Frame.Data(id, B("and more")), Frame.Data(id, None, FrameFlags.Fin)), Is.Null);
        }
        var expected = Enumerable.Range(0, 20).Select(i => Frame.Rst((uint)(2 * i) + 1, ErrorCode.StreamClosed));
        Assert.That(h.Written, Is.EqualTo(expected), "one RST per close, none for the racing DATA");
        Assert.That(h.Core.IsClosed, Is.False);
    }

    [Test]
    public void Closing_after_reading_everything_sends_fin_and_the_first_late_data_gets_rst_once_for_free()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        h.Receive(Frame.Data(1, B("hello"), FrameFlags.Syn));
        h.Core.Consumed(1, 5);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.WndInc(1, 5) }), "an idle reader returns its credit");
        h.Core.Close(1);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Data(1, None, FrameFlags.Fin) }), "nothing unread, nothing owed: FIN");
        Assert.That(h.Core.StreamCount, Is.Zero);

        for (int i = 0; i < 5; i++)
        {
            Assert.That(h.Receive(Frame.Data(1, B("late"))), Is.Null);
        }
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }), "the first late DATA hears of the close, the rest crossed that RST");
        Assert.That(h.Core.IsClosed, Is.False, "none of it was charged");
    }

    [Test]
    public void Closing_with_credit_owed_for_bytes_the_application_read_returns_it_so_the_writer_meets_the_rst()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024 });
        h.Receive(Frame.Data(1, new byte[1024], FrameFlags.Syn));   // the peer's whole window
        h.Core.Consumed(1, 200);                                     // credit owed for 200 (not idle, under half)
        Assert.That(h.Written, Is.Empty);
        h.Core.Close(1, unreadBytes: 0);                             // the application read the other 824 itself

        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Data(1, None, FrameFlags.Fin), Frame.WndInc(1, 1024) }),
            "a writer whose window is used up sends again only after credit");
        h.Receive(Frame.Data(1, new byte[1024]));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }));
    }

    [Test]
    public void Closing_with_unread_bytes_counts_them_whatever_the_application_says_it_read()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { WindowSize = 1024 });
        h.Receive(Frame.Data(1, new byte[1000], FrameFlags.Syn));
        h.Core.Close(1, unreadBytes: 1);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }));
    }

    [Test]
    public void Closing_after_the_peers_fin_sends_only_fin_even_with_unread_data()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Frame.Data(1, B("request"), FrameFlags.Syn), Frame.Data(1, None, FrameFlags.Fin));
        h.Core.Send(1, B("reply"));
        h.Core.Close(1);

        // An RST would destroy the peer's read of "reply"; it sends nothing more anyway.
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Data(1, B("reply")), Frame.Data(1, None, FrameFlags.Fin) }));
        Assert.That(h.Core.StreamCount, Is.Zero);
        Assert.That(h.Core.BufferedBytes, Is.Zero);
    }

    [Test]
    public void A_close_frees_the_streams_slot_at_once()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { MaxIncomingStreams = 1 });
        h.Receive(Frame.Data(1, B("x"), FrameFlags.Syn));
        h.Accept(1);
        h.Core.Close(1);
        h.TakeWritten();
        Assert.That(h.Receive(Frame.Data(3, None, FrameFlags.Syn)), Is.Null);
        Assert.That(h.Written, Is.Empty, "not refused: the closed stream no longer counts, though the peer has not finished it");
        Assert.That(h.Core.StreamCount, Is.EqualTo(1));
    }

    [Test]
    public void Gos_second_empty_fin_after_close_stays_free()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        for (uint id = 1; id < 200; id += 2)
        {
            // Go's client: request, CloseWrite (FIN), read the reply, Close (a second empty FIN).
            h.Receive(Frame.Data(id, B("GET"), FrameFlags.Syn), Frame.Data(id, None, FrameFlags.Fin));
            h.Accept(id);
            h.Core.Consumed(id, 3);
            h.Core.Send(id, B("200"));
            h.Core.Close(id);
            Assert.That(h.Receive(Frame.Data(id, None, FrameFlags.Fin)), Is.Null, $"stream {id}");
        }
        Assert.That(h.Written.Where(f => f.Type is FrameType.Rst or FrameType.GoAway), Is.Empty);
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Data_racing_our_reset_is_dropped_and_the_peers_crossing_rst_is_free()
    {
        var h = new CoreHarness(SessionRole.Client, Strict());
        for (int i = 0; i < 20; i++)
        {
            var s = h.OpenLocal();
            h.Core.Reset(s.Id, ErrorCode.StreamCancelled);
            Assert.That(h.Receive(Frame.Data(s.Id, B("reply in flight")), Frame.Rst(s.Id, ErrorCode.StreamCancelled)), Is.Null);
        }
        Assert.That(h.Written.Count(f => f.Type == FrameType.Rst), Is.EqualTo(20), "our resets only");
        Assert.That(h.Core.IsClosed, Is.False);
    }

    [Test]
    public void A_peers_rst_answering_our_last_data_on_a_finished_stream_is_free()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        for (uint id = 1; id < 40; id += 2)
        {
            // The Go client sends its request and Closes at once; our reply meets its RST StreamClosed.
            h.Receive(Frame.Data(id, B("fire and forget"), FrameFlags.Syn | FrameFlags.Fin));
            h.Accept(id);
            h.Core.Consumed(id, 15);
            h.Core.Send(id, B("ack"));
            h.Core.CloseWrite(id);
            Assert.That(h.Core.StreamCount, Is.Zero, "both FINs: finished");
            Assert.That(h.Receive(Frame.Rst(id, ErrorCode.StreamClosed)), Is.Null);
        }
        Assert.That(h.Core.IsClosed, Is.False);
    }

    [Test]
    public void Data_for_an_unknown_stream_is_still_answered_and_charged()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        Assert.That(h.Receive(Frame.Data(9, B("x"))), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(9, ErrorCode.StreamClosed) }));
        Assert.That(h.Receive(Frame.Data(11, B("x")))!.Code, Is.EqualTo(ErrorCode.EnhanceYourCalm));
    }

    [Test]
    public void Data_after_the_peers_fin_on_a_finished_stream_is_answered_and_charged()
    {
        var h = new CoreHarness(SessionRole.Server, Strict());
        h.Receive(Frame.Data(1, B("x"), FrameFlags.Syn | FrameFlags.Fin));
        h.Accept(1);
        h.Core.Close(1);
        h.TakeWritten();
        Assert.That(h.Receive(Frame.Data(1, B("after fin"))), Is.Null);
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(1, ErrorCode.StreamClosed) }));
        Assert.That(h.Receive(Frame.Data(1, B("again")))!.Code, Is.EqualTo(ErrorCode.EnhanceYourCalm), "a peer breaking the rules pays");
    }

    [Test]
    public void Recently_ended_streams_are_bounded_and_the_oldest_falls_back_to_the_unknown_stream_rule()
    {
        var h = new CoreHarness(SessionRole.Client);
        uint first = 0;
        for (int i = 0; i < RecentlyEndedStreams.Capacity + 10; i++)
        {
            var s = h.OpenLocal();
            first = first == 0 ? s.Id : first;
            h.Core.Reset(s.Id, ErrorCode.StreamCancelled);
        }
        Assert.That(h.Core.RecentlyEndedCount, Is.EqualTo(RecentlyEndedStreams.Capacity));
        h.TakeWritten();
        h.Receive(Frame.Data(first, B("very late")));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(first, ErrorCode.StreamClosed) }), "forgotten: answered as unknown");
    }
}
