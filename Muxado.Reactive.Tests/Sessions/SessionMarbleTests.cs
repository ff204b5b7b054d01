using System.Reactive.Concurrency;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// One session fed frames drawn as marbles, its written frames asserted as marbles: flow control,
/// GOAWAY, reset and linger timing stated as timelines. One marble frame is 10 ticks; time 0 is tick 200.
/// </summary>
public class SessionMarbleTests
{
    private static readonly byte[] Hundred = new byte[100];

    private static readonly Dictionary<char, Frame> F = new()
    {
        // frames the peer (a client) sends
        ['a'] = Frame.Data(1, Hundred, FrameFlags.Syn),
        ['b'] = Frame.Data(1, Hundred),
        ['c'] = Frame.Data(1, Hundred),
        ['d'] = Frame.Data(1, Hundred, FrameFlags.Fin),
        ['o'] = Frame.Data(1, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
        ['k'] = Frame.Data(1, new byte[1024], FrameFlags.Syn),
        ['W'] = Frame.WndInc(2, 1024),
        ['R'] = Frame.Rst(1, ErrorCode.StreamCancelled),
        ['Z'] = Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
        // frames the session writes
        ['x'] = Frame.WndInc(1, 100),
        ['y'] = Frame.WndInc(1, 200),
        ['K'] = Frame.WndInc(1, 1024),
        ['s'] = Frame.Data(2, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
        ['m'] = Frame.Data(2, new byte[512]),
        ['e'] = Frame.Data(2, new byte[440]),
        ['g'] = Frame.GoAway(1, ErrorCode.PeerEOF, "read EOF from remote peer"),
        ['p'] = Frame.GoAway(1, ErrorCode.ProtocolError, "initiated stream id has wrong parity for remote endpoint: 0x2"),
    };

    private sealed class Fixture
    {
        public Fixture(string inbound, MuxSessionOptions? options = null)
        {
            Written = Scheduler.CreateObserver<Frame>();
            var wire = Scheduler.CreateHotObservable(inbound, F);
            Session = MuxSession.Server(FrameTransport.Create(wire, Written), (options ?? new MuxSessionOptions()) with { Scheduler = Scheduler });
        }

        public BoundedTestScheduler Scheduler { get; } = new();
        public ITestableObserver<Frame> Written { get; }
        public MuxSession Session { get; }

        public void Run() => Scheduler.RunUntilIdle();

        public void Expect(string marbles) => Written.Messages.ExpectFrames(marbles, F);
    }

    [Test]
    public void Credit_is_coalesced_per_burst_and_never_sent_after_fin()
    {
        var f = new Fixture("-a-(bc)-d-|");
        f.Session.Incoming.Subscribe(stream => stream.Received.Subscribe(_ => { }, _ => { }), _ => { });
        f.Run();
        // a: idle after it, 100 back. b and c arrive together: one WNDINC of 200. d carries FIN: no credit.
        // The transport's end is answered with Go's GOAWAY PeerEOF, then the transport is closed.
        f.Expect("-x-y------(g|)");
    }

    [Test]
    public void Credit_held_by_the_application_returns_when_it_releases_the_chunk()
    {
        var f = new Fixture("-k-----|", new MuxSessionOptions { WindowSize = 1024 });
        f.Session.Incoming.Subscribe(stream => stream.ReceivedWithCredit().Subscribe(
            chunk => f.Scheduler.ScheduleRelative(30, chunk.Release), _ => { }), _ => { });
        f.Run();
        f.Expect("----K--(g|)");
    }

    [Test]
    public async Task Writer_waits_at_the_window_and_resumes_on_each_wndinc()
    {
        var f = new Fixture("------W----W---", new MuxSessionOptions { WindowSize = 1024, MaxFramePayload = 512 });
        MuxStream? stream = null;
        Task? write = null;
        f.Scheduler.ScheduleAbsolute(200, () =>
        {
            stream = f.Session.Open();
            write = stream.WriteAsync(new byte[3000]).AsTask();
        });
        f.Run();
        f.Expect("(smm)-(mm)-(me)");
        Assert.That(write!.IsCompletedSuccessfully, Is.True);
        await f.Session.DisposeAsync();
    }

    [Test]
    public void Wrong_parity_syn_ends_the_session_with_gos_goaway_and_closes_the_transport()
    {
        var f = new Fixture("-o--Z-----");
        f.Run();
        f.Expect("----(p|)");
        Assert.That(f.Session.Completion.Result.LocalError, Is.EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public void Peer_reset_reaches_the_reader_at_its_time()
    {
        var f = new Fixture("-o--R---");
        var reader = f.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        f.Session.Incoming.Subscribe(stream => stream.Received.Subscribe(reader), _ => { });
        f.Run();
        Assert.That(reader.Messages, Has.Count.EqualTo(1));
        // The RST is injected at 240; the reader hears of it within that marble frame (a tick per scheduler hop).
        Assert.That(reader.Messages[0].Time, Is.InRange(240, 249));
        Assert.That((reader.Messages[0].Value.Exception as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        f.Expect("");
    }
}
