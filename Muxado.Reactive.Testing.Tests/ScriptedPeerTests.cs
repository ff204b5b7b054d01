using System.Text;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing.Tests;

/// <summary>A session under test facing frames the test writes; the exact frames it writes back are checked.</summary>
[TestFixture]
public class ScriptedPeerTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    [Test]
    public async Task A_server_session_returns_the_credit_its_reader_consumed()
    {
        await using var peer = ScriptedPeer.ForServer();
        var read = new StringBuilder();
        peer.Session.Incoming.Subscribe(s => s.Received.Subscribe(c => read.Append(Encoding.ASCII.GetString(c.Span))));

        peer.Send(Frame.Data(1, B("hello"), FrameFlags.Syn));
        peer.ExpectWritten(Frame.WndInc(1, 5));
        Assert.That(read.ToString(), Is.EqualTo("hello"));

        peer.Send(Frame.Data(1, B(" world"), FrameFlags.Fin));
        peer.ExpectNothingWritten(); // no credit after FIN: the peer could never use it
        Assert.That(read.ToString(), Is.EqualTo("hello world"));
    }

    [Test]
    public async Task Credit_waits_until_the_application_releases_the_chunk()
    {
        await using var peer = ScriptedPeer.ForServer();
        var held = new List<CreditedChunk>();
        peer.Session.Incoming.Subscribe(s => s.ReceivedWithCredit().Subscribe(held.Add));

        peer.Send(Frame.Data(1, B("abc"), FrameFlags.Syn));
        peer.ExpectNothingWritten();
        Assert.That(held, Has.Count.EqualTo(1));

        held[0].Release();
        peer.ExpectWritten(Frame.WndInc(1, 3));
    }

    [Test]
    public async Task A_peer_withholding_wndinc_stops_the_writer_at_the_window()
    {
        await using var peer = ScriptedPeer.ForClient(new MuxSessionOptions { WindowSize = 1024, MaxFramePayload = 512 });
        var stream = peer.Session.Open();
        var write = peer.Scheduler.Start(() => stream.WriteAsync(new byte[1500]).AsTask());

        var first = peer.TakeWritten();
        Assert.That(first.Where(f => f.Type == FrameType.Data).Sum(f => f.Length), Is.EqualTo(1024), "one window, then nothing");
        Assert.That(write.IsCompleted, Is.False);
        peer.ExpectNothingWritten();

        peer.Send(Frame.WndInc(stream.Id, 1024));
        peer.ExpectWritten(Frame.Data(stream.Id, new byte[476]));
        Assert.That(write.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task A_syn_with_the_wrong_parity_gets_goaway_protocol_error_and_the_transport_closes()
    {
        await using var peer = ScriptedPeer.ForServer(timing: new MarbleTiming(0, TimeSpan.TicksPerMillisecond));
        peer.Send("-[SYN 2]");
        peer.ExpectTimeline("-([GOAWAY 1 ProtocolError 'initiated stream id has wrong parity for remote endpoint: 0x2']|)");
        Assert.That(peer.TransportClosedAt, Is.InRange(TimeSpan.TicksPerMillisecond, 2 * TimeSpan.TicksPerMillisecond - 1));
        Assert.That((await peer.Session.Completion).LocalError, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(() => peer.Send(Frame.WndInc(1, 1)), Throws.InvalidOperationException, "the connection has ended");
    }

    [Test]
    public async Task Marbles_script_the_peer_and_the_timeline_shows_the_replies_in_their_frames()
    {
        var legend = new Dictionary<char, Frame>
        {
            ['a'] = Frame.Data(1, new byte[100], FrameFlags.Syn),
            ['b'] = Frame.Data(1, new byte[100]),
            ['d'] = Frame.Data(1, new byte[100], FrameFlags.Fin),
            ['x'] = Frame.WndInc(1, 100),
            ['y'] = Frame.WndInc(1, 200),
            ['g'] = Frame.GoAway(1, ErrorCode.PeerEOF, "read EOF from remote peer"),
        };
        await using var peer = ScriptedPeer.ForServer();
        peer.Session.Incoming.Subscribe(s => s.Received.Subscribe(_ => { }, _ => { }));
        peer.Send("-a-(bb)-d-|", legend);
        // b and b arrive together: one WNDINC of 200. d carries FIN: no credit. The end of the connection is
        // answered with Go's GOAWAY PeerEOF and the session closes its side.
        peer.ExpectTimeline("-x-y------(g|)", legend);
    }

    [Test]
    public async Task ExpectWritten_fails_with_both_frame_sequences()
    {
        await using var peer = ScriptedPeer.ForServer();
        peer.Session.Incoming.Subscribe(s => s.Received.Subscribe(_ => { }));
        peer.Send(Frame.Data(1, B("hello"), FrameFlags.Syn));
        var failure = Assert.Throws<TestFailureException>(() => peer.ExpectWritten(Frame.WndInc(1, 4)));
        Assert.That(failure!.Message, Does.Contain("[0] expected [WNDINC 1 4] but was [WNDINC 1 5]"));
        peer.ExpectNothingWritten(); // the failed check consumed what was written
    }

    [Test]
    public async Task ExpectTimeline_fails_with_a_marble_diff()
    {
        await using var peer = ScriptedPeer.ForServer();
        peer.Session.Incoming.Subscribe(s => s.Received.Subscribe(_ => { }));
        peer.Send("-[SYN 1 'hi']---[DATA 1 'there']");
        var failure = Assert.Throws<TestFailureException>(() => peer.ExpectTimeline("-[WNDINC 1 2]-[WNDINC 1 5]"));
        var lines = failure!.Message.Split(Environment.NewLine);
        Assert.That(lines, Does.Contain("  expected: -[WNDINC 1 2]-[WNDINC 1 5]"));
        Assert.That(lines, Does.Contain("  actual:   -[WNDINC 1 2]---[WNDINC 1 5]"));
        Assert.That(lines, Does.Contain("                          ^ first difference"));
        Assert.That(failure.Message, Does.Contain("[1] expected OnNext([WNDINC 1 5])@230 but was OnNext([WNDINC 1 5])@25"));
    }

    [Test]
    public async Task Closing_the_connection_ends_the_session_with_peer_eof()
    {
        await using var peer = ScriptedPeer.ForServer();
        peer.Close();
        peer.ExpectWritten(Frame.GoAway(1, ErrorCode.PeerEOF, "read EOF from remote peer"));
        Assert.That(peer.Written.IsTerminated, Is.True, "the session closed its sending side");
        Assert.That((await peer.Session.Completion).LocalError, Is.EqualTo(ErrorCode.PeerEOF));
    }

    [Test]
    public void Marbles_in_the_past_are_refused()
    {
        var peer = ScriptedPeer.ForServer();
        peer.Scheduler.RunTo(500);
        Assert.That(() => peer.Send("-[SYN 1]"), Throws.ArgumentException.With.Message.Contains("before the current virtual time 500"));
    }
}
