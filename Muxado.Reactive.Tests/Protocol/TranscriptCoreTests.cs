using System.Buffers;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;
using Muxado.Reactive.Tests.Interop;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// Every recorded Go scenario replayed into the sans-IO core: the peer's bytes go through the real frame reader
/// (with the session's reader limits) one frame at a time, the application's actions from the scenario's
/// description happen between frames, and what the core writes is compared with what Go wrote in its place.
/// </summary>
/// <remarks>
/// Where our bytes differ from Go's, the test says which PROTOCOL.md rule asks for the difference ("We:" lines,
/// or "Talking to Go peers safely"), and asserts the Go frame it replaces, so that the deviation is checked against
/// the record rather than assumed.
/// </remarks>
public class TranscriptCoreTests
{
    private const TranscriptDirection C2S = TranscriptDirection.ClientToServer;
    private const TranscriptDirection S2C = TranscriptDirection.ServerToClient;

    private static readonly MuxSessionOptions Options = new MuxSessionOptions().Validate();

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static string Hex(IEnumerable<Frame> frames) => Convert.ToHexStringLower(GoTranscripts.Encode(frames));

    /// <summary>The scenarios each test below replays; a scenario added to the file must get a test here.</summary>
    private static readonly string[] Covered =
    [
        "open-send-fin-reply", "server-opens-stream", "typed-stream", "window-exhaustion", "wrong-parity-syn",
        "data-on-unknown-stream", "fin-on-unknown-stream", "unknown-frame-type-skipped", "rst-bad-length",
        "wndinc-zero", "goaway-from-client", "data-exceeds-window", "accept-backlog-full", "stream-reset-by-peer",
    ];

    [Test]
    public void Every_recorded_scenario_is_replayed_into_the_core()
    {
        Assert.That(GoTranscripts.Scenarios.Select(s => s.Name), Is.EquivalentTo(Covered));
    }

    // ---------------------------------------------------------------- normal conversations, our side the server

    [Test]
    public void Open_send_fin_reply_as_server_writes_gos_exact_bytes()
    {
        var scenario = GoTranscripts.Scenario("open-send-fin-reply");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        Assert.That(h.Receive(wire.Next()), Is.Null);           // DATA|SYN 3 "hello muxado"
        app.Accept(3);
        app.ReadAvailable(3);                                   // the reader is idle again: all credit goes back
        Assert.That(h.Receive(wire.Next()), Is.Null);           // DATA|FIN 3: read returns EOF
        Assert.That(app.Text(3), Is.EqualTo("hello muxado"));
        Assert.That(h.Streams[3].Fin, Is.True);

        Assert.That(h.Core.Send(3, B("HELLO")).BytesSent, Is.EqualTo(5));
        h.Core.Close(3);
        Assert.That(h.Receive(wire.Rest()), Is.Null);           // WNDINC +5, Go's second empty FIN, GOAWAY NoError
        Assert.That(h.GoAways, Is.EqualTo(new[] { (0u, ErrorCode.NoError, "no error") }));
        Assert.That(h.Core.TransportEnded().Code, Is.EqualTo(ErrorCode.PeerEOF)); // then the client's EOF

        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Open_send_fin_reply_with_a_reader_that_wakes_after_the_fin_sends_no_credit()
    {
        var scenario = GoTranscripts.Scenario("open-send-fin-reply");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        h.Receive(wire.Next(), wire.Next());                    // data and FIN both arrive before the reader runs
        app.Accept(3);
        app.ReadAvailable(3);
        h.Core.Send(3, B("HELLO"));
        h.Core.Close(3);
        h.Receive(wire.Rest());
        h.Core.TransportEnded();

        // Deviation: Go sends one WNDINC per Read even after the peer's FIN. We do not: PROTOCOL.md, "Flow
        // control" asks only that credit returns "before the sender can stall", and a sender that sent FIN can
        // never send again, so that credit is useless (ProtocolCore.Consumed: "No credit once the peer has sent FIN").
        var go = scenario.ExpectedFrames(S2C);
        Assert.That(go[0], Is.EqualTo(Frame.WndInc(3, 12)));
        Assert.That(h.Written, Is.EqualTo(go.Skip(1)));
    }

    [Test]
    public void Typed_stream_as_server_writes_gos_exact_bytes()
    {
        var scenario = GoTranscripts.Scenario("typed-stream");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        h.Receive(wire.Next());                                 // DATA|SYN 3, the 4-byte type 0x2A
        app.Accept(3);
        app.ReadAvailable(3);
        Assert.That(app.Bytes(3), Is.EqualTo(new byte[] { 0, 0, 0, 0x2A }));
        h.Receive(wire.Next());                                 // DATA 3 "x"
        app.ReadAvailable(3);
        h.Receive(wire.Next());                                 // DATA|FIN 3
        h.Core.Close(3);
        h.Receive(wire.Rest());                                 // GOAWAY NoError
        h.Core.TransportEnded();

        Assert.That(app.Text(3), Is.EqualTo("\0\0\0*x"));
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
    }

    [Test]
    public void Window_exhaustion_as_server_credits_everything_in_few_coalesced_wndincs()
    {
        var scenario = GoTranscripts.Scenario("window-exhaustion");
        Assert.That(scenario.TimingDependent, Is.True, "frame boundaries vary: compare kinds and totals");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        // The application reads in 16 KiB reads whenever data is there, as the Go server read in small reads.
        Frame frame;
        while ((frame = wire.Next()).Type == FrameType.Data && frame.Length > 0)
        {
            Assert.That(h.Receive(frame), Is.Null);
            if (frame.IsSyn)
            {
                app.Accept(frame.StreamId);
            }
            app.ReadAvailable(frame.StreamId, readSize: 16 * 1024);
        }
        Assert.That(frame.IsFin, Is.True);
        h.Receive(frame);                                       // FIN: the reader sees EOF and closes
        h.Core.Close(3);
        h.Receive(wire.Rest());                                 // Go's second FIN (ignored), GOAWAY NoError
        h.Core.TransportEnded();

        var go = scenario.ExpectedFrames(S2C);
        Assert.That(app.Bytes(3), Is.EqualTo(GoTranscripts.GeneratePayload("pattern", 0, 300_000)));
        Assert.That(h.Written.Any(f => f.Type == FrameType.Rst), Is.False, "Go's first frame fills the window exactly: no violation");

        // Same shape as Go: WNDINC..., DATA|FIN, GOAWAY PeerEOF; same total credit.
        var credits = h.Written.TakeWhile(f => f.Type == FrameType.WndInc).ToList();
        Assert.That(h.Written.Skip(credits.Count), Is.EqualTo(go.Where(f => f.Type != FrameType.WndInc)));
        Assert.That(credits.Sum(f => (long)f.Increment), Is.EqualTo(go.Where(f => f.Type == FrameType.WndInc).Sum(f => (long)f.Increment)));

        // Deviation: Go sends a WNDINC per Read (22 here). PROTOCOL.md, "Flow control": "We may batch credit, but
        // must return it ... at the latest when the consumed-but-uncredited bytes reach half the window, and
        // whenever the consumer goes idle with credit owed." So each WNDINC is half a window, or an idle reader's debt.
        Assert.That(credits, Has.Count.LessThan(go.Count(f => f.Type == FrameType.WndInc)));
        Assert.That(credits.Select(f => f.Increment), Is.EqualTo(new uint[] { 131072, 131072, 9472, 28384 }));
    }

    // ---------------------------------------------------------------- our side the server opens

    [Test]
    public void Server_opens_stream_as_server_differs_only_by_the_empty_syn()
    {
        var scenario = GoTranscripts.Scenario("server-opens-stream");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);

        var stream = h.OpenLocal();
        Assert.That(stream.Id, Is.EqualTo(2u), "Go's first server id");
        h.Core.Send(2, B("abc"));
        h.Core.CloseWrite(2);
        h.Receive(wire.Rest());                                 // WNDINC +3, DATA|FIN, GOAWAY(2, NoError)
        h.Core.TransportEnded();

        // Deviation: Go opens with DATA|SYN carrying the first write. We open with an empty DATA|SYN and send the
        // data in the next frame (PROTOCOL.md, "Stream lifecycle", Open, and "Talking to Go peers safely", row 3).
        var go = scenario.ExpectedFrames(S2C);
        Assert.That(go[0], Is.EqualTo(Frame.Data(2, B("abc"), FrameFlags.Syn)));
        var expected = new List<Frame> { Frame.Data(2, default, FrameFlags.Syn), Frame.Data(2, B("abc")) };
        expected.AddRange(go.Skip(1));
        Assert.That(h.Written, Is.EqualTo(expected));
        Assert.That(h.GoAways, Is.EqualTo(new[] { (2u, ErrorCode.NoError, "no error") }));
        Assert.That(stream.Fin, Is.True);
    }

    // ---------------------------------------------------------------- our side the client

    [Test]
    public void Server_opens_stream_as_client_writes_gos_exact_bytes()
    {
        var scenario = GoTranscripts.Scenario("server-opens-stream");
        var wire = new WireReplay(scenario, S2C);
        var h = new CoreHarness(SessionRole.Client);
        var app = new App(h);

        h.Receive(wire.Next());                                 // DATA|SYN 2 "abc"
        app.Accept(2);
        app.ReadAvailable(2);
        h.Receive(wire.Next());                                 // DATA|FIN 2
        h.Core.Close(2);
        CloseSession(h);                                        // the client session closes
        Assert.That(h.Receive(wire.Rest()), Is.Null, "Go's GOAWAY PeerEOF reaches a closed session: ignored");

        Assert.That(app.Text(2), Is.EqualTo("abc"));
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ClientToServerHex));
    }

    [Test]
    public void Open_send_fin_reply_as_client_differs_by_the_empty_syn_and_a_single_fin()
    {
        var scenario = GoTranscripts.Scenario("open-send-fin-reply");
        var wire = new WireReplay(scenario, S2C);
        var h = new CoreHarness(SessionRole.Client);
        var app = new App(h);

        var stream = h.OpenLocal();
        Assert.That(stream.Id, Is.EqualTo(3u), "Go's first client id");
        h.Core.Send(3, B("hello muxado"));
        h.Core.CloseWrite(3);
        h.Receive(wire.Next());                                 // WNDINC +12
        h.Receive(wire.Next());                                 // DATA 3 "HELLO"
        app.ReadAvailable(3);
        h.Receive(wire.Next());                                 // DATA|FIN 3
        h.Core.Close(3);
        CloseSession(h);
        h.Receive(wire.Rest());

        Assert.That(app.Text(3), Is.EqualTo("HELLO"));
        var go = scenario.ExpectedFrames(C2S);
        // Deviation 1: the empty SYN (PROTOCOL.md, "Talking to Go peers safely", row 3).
        // Deviation 2: Go sends a second empty DATA|FIN when Close follows CloseWrite; a stream sends FIN once
        // (PROTOCOL.md, "Stream lifecycle", Close: the repeated FIN is Go's, receivers ignore it).
        Assert.That(go[0], Is.EqualTo(Frame.Data(3, B("hello muxado"), FrameFlags.Syn)));
        Assert.That(go[3], Is.EqualTo(Frame.Data(3, default, FrameFlags.Fin)));
        var expected = new List<Frame> { Frame.Data(3, default, FrameFlags.Syn), Frame.Data(3, B("hello muxado")) };
        expected.AddRange(go.Where((_, i) => i is 1 or 2 or 4));
        Assert.That(h.Written, Is.EqualTo(expected));
    }

    [Test]
    public void Typed_stream_as_client_differs_only_by_the_empty_syn()
    {
        var scenario = GoTranscripts.Scenario("typed-stream");
        var wire = new WireReplay(scenario, S2C);
        var h = new CoreHarness(SessionRole.Client);

        var stream = h.OpenLocal();
        h.Core.Send(stream.Id, new byte[] { 0, 0, 0, 0x2A });
        h.Core.Send(stream.Id, B("x"));
        h.Core.Close(stream.Id);
        h.Receive(wire.Next(), wire.Next(), wire.Next());      // WNDINC +4, WNDINC +1, DATA|FIN
        CloseSession(h);
        h.Receive(wire.Rest());

        // Deviation: the empty SYN (PROTOCOL.md, "Talking to Go peers safely", row 3).
        var go = scenario.ExpectedFrames(C2S);
        Assert.That(go[0], Is.EqualTo(Frame.Data(3, new byte[] { 0, 0, 0, 0x2A }, FrameFlags.Syn)));
        var expected = new List<Frame> { Frame.Data(3, default, FrameFlags.Syn), Frame.Data(3, new byte[] { 0, 0, 0, 0x2A }) };
        expected.AddRange(go.Skip(1));
        Assert.That(h.Written, Is.EqualTo(expected));
        // The application closed before the server's FIN came (PROTOCOL.md, "Stream lifecycle", Close, "We:"): the
        // stream left the table at once, so the FIN reaches no reader and the server's credit is ignored. Nothing
        // was unread, so no RST went out: the bytes are Go's.
        Assert.That(stream.Fin, Is.False, "closed: nobody reads the FIN");
        Assert.That(stream.ResetWith, Is.Null);
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Window_exhaustion_as_client_sends_the_300000_bytes_within_gos_credit()
    {
        var scenario = GoTranscripts.Scenario("window-exhaustion");
        var wire = new WireReplay(scenario, S2C);
        var h = new CoreHarness(SessionRole.Client);
        var payload = GoTranscripts.GeneratePayload("pattern", 0, 300_000);

        var stream = h.OpenLocal();
        int sent = h.Core.Send(stream.Id, payload).BytesSent;
        long credited = 0;
        long maxOutstanding = sent;
        bool finSent = false;
        Frame frame;
        while ((frame = wire.Next()).Type == FrameType.WndInc)
        {
            h.Receive(frame);
            credited += frame.Increment;
            if (sent < payload.Length)
            {
                sent += h.Core.Send(stream.Id, payload.AsMemory(sent)).BytesSent;
            }
            maxOutstanding = Math.Max(maxOutstanding, sent - credited);
            if (sent == payload.Length && !finSent)
            {
                h.Core.CloseWrite(stream.Id);                   // the write returned: half-close, as Go's client did
                finSent = true;
            }
        }
        h.Receive(frame);                                       // the server's DATA|FIN
        h.Core.Close(stream.Id);
        CloseSession(h);
        h.Receive(wire.Rest());

        Assert.That(sent, Is.EqualTo(payload.Length));
        Assert.That(maxOutstanding, Is.LessThanOrEqualTo(Options.WindowSize), "never more than the window in flight");
        var data = h.Written.Where(f => f.Type == FrameType.Data && f.Length > 0).ToList();
        Assert.That(data.SelectMany(f => f.Payload.ToArray()), Is.EqualTo(payload));
        Assert.That(data.Select(f => f.Length), Has.All.LessThanOrEqualTo(Options.MaxFramePayload));

        // Deviations: the empty SYN (PROTOCOL.md, "Talking to Go peers safely", row 3); one FIN, not Go's two
        // ("Stream lifecycle", Close); DATA frames of at most MaxFramePayload where Go sends up to the window.
        var go = scenario.ExpectedFrames(C2S);
        Assert.That(go.Count(f => f.Type == FrameType.Data && f.Length == 0 && f.IsFin), Is.EqualTo(2));
        Assert.That(h.Written[0], Is.EqualTo(Frame.Data(3, default, FrameFlags.Syn)));
        Assert.That(h.Written.Count(f => f.IsFin), Is.EqualTo(1));
        Assert.That(h.Written[^1], Is.EqualTo(go[^1]), "GOAWAY(0, NoError, \"no error\")");
    }

    // ---------------------------------------------------------------- hostile and unusual input to our server

    [Test]
    public void Wrong_parity_syn_is_answered_with_gos_exact_goaway()
    {
        var scenario = GoTranscripts.Scenario("wrong-parity-syn");
        var h = new CoreHarness(SessionRole.Server);
        var fault = h.Receive(new WireReplay(scenario, C2S).Rest());

        Assert.That(fault, Is.EqualTo(new SessionFault(ErrorCode.ProtocolError, "initiated stream id has wrong parity for remote endpoint: 0x2")));
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
        Assert.That(h.Core.IsClosed, Is.True);
    }

    [Test]
    public void Data_on_unknown_stream_is_answered_with_gos_exact_rst()
    {
        var scenario = GoTranscripts.Scenario("data-on-unknown-stream");
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(new WireReplay(scenario, C2S).Rest()), Is.Null);
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
        Assert.That(h.Core.IsClosed, Is.False, "the session lives on");
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Fin_on_unknown_stream_gets_no_reply()
    {
        var scenario = GoTranscripts.Scenario("fin-on-unknown-stream");
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(new WireReplay(scenario, C2S).Rest()), Is.Null);
        Assert.That(scenario.ServerToClientFrames, Is.Empty);
        Assert.That(h.Written, Is.Empty);
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Unknown_frame_is_skipped_and_the_syn_fin_stream_is_echoed()
    {
        var scenario = GoTranscripts.Scenario("unknown-frame-type-skipped");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        Assert.That(h.Receive(wire.Next()), Is.Null);           // UNKNOWN(10), 5 bytes: skipped
        Assert.That(h.Written, Is.Empty);
        Assert.That(h.Receive(wire.Next()), Is.Null);           // DATA|SYN|FIN 1 "hi"
        app.Accept(1);
        app.ReadAvailable(1);
        Assert.That(app.Text(1), Is.EqualTo("hi"));
        Assert.That(h.Streams[1].Fin, Is.True);
        Assert.That(h.Core.Send(1, B("hi")).BytesSent, Is.EqualTo(2), "the echo");
        h.Core.Close(1);
        Assert.That(wire.AtEnd, Is.True);

        // Deviation 1: no WNDINC +2: the peer's FIN came with the data, credit it could never use (PROTOCOL.md,
        // "Flow control": credit must come back "before the sender can stall"; a finished sender cannot stall).
        // Deviation 2: Go's echo of "hi" is missing from its record: Go's SYN|FIN bug closes the acceptor's own
        // sending side (PROTOCOL.md, "Talking to Go peers safely", row 1). We accept SYN|FIN as the peer's
        // half-close only, so the echo the scenario describes goes out.
        var go = scenario.ExpectedFrames(S2C);
        Assert.That(go, Is.EqualTo(new[] { Frame.WndInc(1, 2), Frame.Data(1, default, FrameFlags.Fin) }));
        Assert.That(h.Written, Is.EqualTo(new[] { Frame.Data(1, B("hi")), go[1] }));
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    [Test]
    public void Rst_with_a_bad_length_is_a_codec_error_answered_with_gos_exact_goaway()
    {
        var scenario = GoTranscripts.Scenario("rst-bad-length");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);

        var error = Assert.Throws<MuxadoFrameException>(() => wire.Next())!;
        // The session's reader turns a frame error into Core.Fail(code, message) (MuxSession.InboundObserver.OnError).
        var fault = h.Core.Fail(error.Code, error.Message);

        Assert.That(fault.Code, Is.EqualTo(ErrorCode.FrameSizeError));
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
        Assert.That(h.Core.IsClosed, Is.True);
    }

    [Test]
    public void Wndinc_zero_is_a_codec_error_answered_with_gos_exact_goaway()
    {
        var scenario = GoTranscripts.Scenario("wndinc-zero");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);

        Assert.That(h.Receive(wire.Next()), Is.Null);           // DATA|SYN 1: last id becomes 1
        var error = Assert.Throws<MuxadoFrameException>(() => wire.Next())!;
        var fault = h.Core.Fail(error.Code, error.Message);

        Assert.That(fault.Code, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
    }

    [Test]
    public void Goaway_from_client_is_recorded_silently_and_later_opens_fail()
    {
        var scenario = GoTranscripts.Scenario("goaway-from-client");
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(new WireReplay(scenario, C2S).Rest()), Is.Null);

        Assert.That(h.Written, Is.Empty);
        Assert.That(h.GoAways, Is.EqualTo(new[] { (0u, ErrorCode.NoError, "bye") }));
        Assert.That(h.Core.GoAwayReceived, Is.True);
        Assert.That(h.Core.TryOpen(new RecordingStream(), out _), Is.EqualTo(ErrorCode.RemoteGoneAway));
        Assert.That(h.Written, Is.Empty, "a refused open writes nothing");
    }

    [Test]
    public void Data_exceeding_the_window_is_answered_with_gos_exact_rst_without_reading_the_payload()
    {
        var scenario = GoTranscripts.Scenario("data-exceeds-window");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);

        Assert.That(h.Receive(wire.Next()), Is.Null);           // DATA|SYN 1, empty
        var oversized = wire.Next();
        Assert.That(oversized.Length, Is.EqualTo(262_145));
        Assert.That(oversized.IsTruncated, Is.True, "the reader keeps none of a DATA body longer than the window");
        Assert.That(h.Receive(oversized), Is.Null);

        Assert.That(h.Written, Is.EqualTo(scenario.ExpectedFrames(S2C)));
        Assert.That(h.Streams[1].Data, Is.Empty);
        Assert.That(h.Streams[1].ResetWith, Is.EqualTo((ErrorCode.FlowControlError, false)));
        Assert.That(h.Core.IsClosed, Is.False);
        Assert.That(h.Core.BufferedBytes, Is.Zero);
    }

    [Test]
    public void Accept_backlog_overflow_resets_streams_257_and_259_with_gos_exact_rsts()
    {
        var scenario = GoTranscripts.Scenario("accept-backlog-full");
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(new WireReplay(scenario, C2S).Rest()), Is.Null);

        Assert.That(Hex(h.Written), Is.EqualTo(scenario.ServerToClientHex));
        // PROTOCOL.md, "Accepting streams": Go leaves the refused streams registered; we forget them.
        Assert.That(h.Core.StreamCount, Is.EqualTo(128));
        Assert.That(h.Streams.Keys.Max(), Is.EqualTo(255u));
    }

    [Test]
    public void Stream_reset_by_peer_fails_the_reader_and_nothing_more_is_sent_on_it()
    {
        var scenario = GoTranscripts.Scenario("stream-reset-by-peer");
        var wire = new WireReplay(scenario, C2S);
        var h = new CoreHarness(SessionRole.Server);
        var app = new App(h);

        h.Receive(wire.Next());                                 // DATA|SYN 1 "q"
        app.Accept(1);
        app.ReadAvailable(1);
        h.Receive(wire.Next());                                 // RST 1 StreamCancelled
        Assert.That(h.Streams[1].ResetWith, Is.EqualTo((ErrorCode.StreamCancelled, true)));
        h.Core.Close(1);                                        // the application closes after its read error

        // Deviation: Go's Close after the reset still sends DATA|FIN. PROTOCOL.md, "Stream lifecycle": a reset
        // "aborts both directions at once" and the stream is forgotten: nothing more goes out on it.
        var go = scenario.ExpectedFrames(S2C);
        Assert.That(go, Is.EqualTo(new[] { Frame.WndInc(1, 1), Frame.Data(1, default, FrameFlags.Fin) }));
        Assert.That(h.Written, Is.EqualTo(go.Take(1)));
        Assert.That(h.Core.StreamCount, Is.Zero);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Closes a session as <c>MuxSession.DisposeAsync</c> does.</summary>
    private static void CloseSession(CoreHarness h)
    {
        h.Core.GoAway(ErrorCode.NoError, "no error", sessionStaysOpen: false);
        h.Core.Shutdown();
    }

    /// <summary>
    /// The bytes one side wrote, read back one frame at a time with the session's reader limits, as the
    /// transport would hand them to the session. A frame error is thrown at the frame that carries it.
    /// </summary>
    private sealed class WireReplay
    {
        private ReadOnlySequence<byte> _rest;

        public WireReplay(GoScenario scenario, TranscriptDirection direction)
        {
            var bytes = scenario.Bytes(direction) ?? GoTranscripts.Encode(scenario.ExpectedFrames(direction));
            Assert.That(bytes, Has.Length.EqualTo(scenario.ByteCount(direction)), "the regenerated bytes are the recorded ones");
            _rest = new ReadOnlySequence<byte>(bytes);
        }

        public bool AtEnd => _rest.IsEmpty;

        public Frame Next()
        {
            Assert.That(_rest.IsEmpty, Is.False, "no more recorded frames");
            Assert.That(FrameReader.TryRead(ref _rest, Options.ReaderLimits, out var frame, out long discard), Is.True, "a whole frame");
            _rest = _rest.Slice(discard);
            return frame;
        }

        public Frame[] Rest()
        {
            var frames = new List<Frame>();
            while (!AtEnd)
            {
                frames.Add(Next());
            }
            return [.. frames];
        }
    }

    /// <summary>The application on top of the core: accepts streams, reads what arrived, remembers the bytes.</summary>
    private sealed class App(CoreHarness h)
    {
        private readonly Dictionary<uint, int> _read = [];

        public void Accept(uint id) => h.Accept(id);

        /// <summary>Reads every byte that has arrived, in reads of at most <paramref name="readSize"/>.</summary>
        public void ReadAvailable(uint id, int readSize = int.MaxValue)
        {
            int read = _read.GetValueOrDefault(id);
            int available = h.Streams[id].Data.Count - read;
            while (available > 0)
            {
                int n = Math.Min(available, readSize);
                h.Core.Consumed(id, n);
                read += n;
                available -= n;
            }
            _read[id] = read;
        }

        public byte[] Bytes(uint id) => [.. h.Streams[id].Data.Take(_read.GetValueOrDefault(id))];

        public string Text(uint id) => Encoding.ASCII.GetString(Bytes(id));
    }
}
