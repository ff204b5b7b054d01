using System.Buffers;
using System.Reactive;
using System.Reactive.Subjects;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Sessions;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>
/// Go's recorded side of a conversation played into a whole <see cref="MuxSession"/> (not just its core), with an
/// ordinary application on top written against the public API: the bytes the session writes must be Go's.
/// </summary>
public class TranscriptSessionTests
{
    private sealed class Wire
    {
        public Wire(GoScenario scenario, TranscriptDirection peerDirection)
        {
            var bytes = scenario.Bytes(peerDirection)!;
            var rest = new ReadOnlySequence<byte>(bytes);
            while (!rest.IsEmpty)
            {
                Assert.That(FrameReader.TryRead(ref rest, FrameReaderLimits.Default, out var frame, out long discard), Is.True);
                rest = rest.Slice(discard);
                Frames.Enqueue(frame);
            }
        }

        public Queue<Frame> Frames { get; } = new();
    }

    private static (MuxSession Session, Subject<Frame> Peer, List<Frame> Written, BoundedTestScheduler Scheduler) Start(SessionRole role)
    {
        var scheduler = new BoundedTestScheduler();
        var peer = new Subject<Frame>();
        var written = new List<Frame>();
        var transport = FrameTransport.Create(peer, Observer.Create<Frame>(f =>
            written.Add(f.Type == FrameType.Data ? Frame.Data(f.StreamId, f.Payload.ToArray(), f.Flags) : f)));
        var session = role == SessionRole.Server
            ? MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler })
            : MuxSession.Client(transport, new MuxSessionOptions { Scheduler = scheduler });
        return (session, peer, written, scheduler);
    }

    [Test]
    public void A_go_client_opening_sending_and_half_closing_gets_gos_exact_reply_from_our_server_session()
    {
        using var inline = new InlineContinuations();
        var scenario = GoTranscripts.Scenario("open-send-fin-reply");
        var wire = new Wire(scenario, TranscriptDirection.ClientToServer);
        var (session, peer, written, scheduler) = Start(SessionRole.Server);

        // The application: read the request to EOF, answer "HELLO", close.
        var request = new StringBuilder();
        Task? replied = null;
        session.Incoming.Subscribe(stream => stream.Received.Subscribe(
            chunk => request.Append(Encoding.ASCII.GetString(chunk.Span)),
            () => replied = ReplyAsync(stream)));

        peer.OnNext(wire.Frames.Dequeue());       // DATA|SYN 3 "hello muxado"
        scheduler.RunUntilIdle();                 // accepted, read: the idle reader returns the credit
        peer.OnNext(wire.Frames.Dequeue());       // DATA|FIN
        scheduler.RunUntilIdle();
        Assert.That(replied?.IsCompletedSuccessfully, Is.True);
        while (wire.Frames.Count > 0)
        {
            peer.OnNext(wire.Frames.Dequeue());   // WNDINC +5, Go's second FIN, GOAWAY NoError
        }
        scheduler.RunUntilIdle();
        peer.OnCompleted();                       // the Go client closes the connection
        scheduler.RunUntilIdle();

        Assert.That(request.ToString(), Is.EqualTo("hello muxado"));
        Assert.That(Convert.ToHexStringLower(GoTranscripts.Encode(written)), Is.EqualTo(scenario.ServerToClientHex));
        Assert.That(session.Completion.Result.IsClean, Is.True, "the peer's NoError GOAWAY, then its EOF");
        Assert.That(session.RemoteGoAway, Is.EqualTo((ErrorCode.NoError, "no error")));

        static async Task ReplyAsync(MuxStream stream)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HELLO"));
            await stream.DisposeAsync();
        }
    }

    [Test]
    public void A_go_server_opening_a_stream_gets_gos_exact_bytes_from_our_client_session()
    {
        using var inline = new InlineContinuations();
        var scenario = GoTranscripts.Scenario("server-opens-stream");
        var wire = new Wire(scenario, TranscriptDirection.ServerToClient);
        var (session, peer, written, scheduler) = Start(SessionRole.Client);

        // The application: accept, read to EOF, close; then close the session.
        var received = new StringBuilder();
        Task? closed = null;
        session.Incoming.Subscribe(stream => stream.Received.Subscribe(
            chunk => received.Append(Encoding.ASCII.GetString(chunk.Span)),
            () => closed = stream.DisposeAsync().AsTask()));

        peer.OnNext(wire.Frames.Dequeue());       // DATA|SYN 2 "abc"
        scheduler.RunUntilIdle();
        peer.OnNext(wire.Frames.Dequeue());       // DATA|FIN
        scheduler.RunUntilIdle();
        Assert.That(closed?.IsCompletedSuccessfully, Is.True);
        var disposing = session.DisposeAsync().AsTask();
        scheduler.RunUntilIdle();
        Assert.That(disposing.IsCompletedSuccessfully, Is.True);
        peer.OnNext(wire.Frames.Dequeue());       // Go's GOAWAY PeerEOF reaches a closed session

        Assert.That(received.ToString(), Is.EqualTo("abc"));
        Assert.That(Convert.ToHexStringLower(GoTranscripts.Encode(written)), Is.EqualTo(scenario.ClientToServerHex));
    }

    [Test]
    public void A_go_client_sending_a_typed_stream_gets_gos_exact_bytes_from_AcceptTypedAsync()
    {
        using var inline = new InlineContinuations();
        var scenario = GoTranscripts.Scenario("typed-stream");
        var wire = new Wire(scenario, TranscriptDirection.ClientToServer);
        var (session, peer, written, scheduler) = Start(SessionRole.Server);

        var accepted = session.AcceptTypedAsync();
        peer.OnNext(wire.Frames.Dequeue());       // DATA|SYN 3 with the type 0x2A
        scheduler.RunUntilIdle();
        Assert.That(accepted.IsCompletedSuccessfully, Is.True);
        Assert.That(accepted.Result.Type, Is.EqualTo(0x2Au));
        var stream = accepted.Result.Stream;
        var io = stream.AsStream();
        peer.OnNext(wire.Frames.Dequeue());       // DATA "x"
        scheduler.RunUntilIdle();
        var buffer = new byte[16];
        var read = io.ReadAsync(buffer).AsTask();
        scheduler.RunUntilIdle();
        Assert.That(read.IsCompletedSuccessfully && read.Result == 1 && buffer[0] == (byte)'x', Is.True);
        peer.OnNext(wire.Frames.Dequeue());       // DATA|FIN
        scheduler.RunUntilIdle();
        var eof = io.ReadAsync(buffer).AsTask();
        scheduler.RunUntilIdle();
        Assert.That(eof.IsCompletedSuccessfully && eof.Result == 0, Is.True);
        var closing = io.DisposeAsync().AsTask();
        Assert.That(closing.IsCompletedSuccessfully, Is.True);
        peer.OnNext(wire.Frames.Dequeue());       // GOAWAY NoError
        peer.OnCompleted();
        scheduler.RunUntilIdle();

        Assert.That(Convert.ToHexStringLower(GoTranscripts.Encode(written)), Is.EqualTo(scenario.ServerToClientHex));
    }
}
