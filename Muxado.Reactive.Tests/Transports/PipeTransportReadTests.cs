using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>The reading side of the pipe-based transport, fed raw bytes through a <see cref="PipeWire"/>.</summary>
[TestFixture]
public sealed class PipeTransportReadTests
{
    private static readonly Frame Hello = Frame.Data(3, Encoding.ASCII.GetBytes("hello"), FrameFlags.Syn);
    private static readonly Frame Credit = Frame.WndInc(3, 100);

    [Test]
    public async Task Frames_arrive_in_order_and_a_clean_end_completes()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        await wire.SendAsync(TestWire.Encode(Hello, Credit, Frame.GoAway(5, ErrorCode.NoError, "bye")));
        await wire.EndAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello, Credit, Frame.GoAway(5, ErrorCode.NoError, "bye") }));
        Assert.That(observer.GrammarBroken, Is.False);
    }

    [Test]
    public async Task An_end_inside_a_header_fails_with_PeerEOF()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        await wire.SendAsync([.. TestWire.Encode(Hello), .. TestWire.Encode(Credit).AsSpan(0, 5)]);
        await wire.EndAsync();

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Does.Contain("header").And.Contain("3 of its 8 bytes"));
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello }), "frames before the cut are not lost");
    }

    [Test]
    public async Task An_end_inside_a_body_fails_with_PeerEOF_saying_how_much_was_missing()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        byte[] data = TestWire.Encode(Frame.Data(1, new byte[10]));
        await wire.SendAsync(data[..^7]);
        await wire.EndAsync();

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Does.Contain("middle of a frame").And.Contain("7 more bytes"));
    }

    [Test]
    public async Task An_end_inside_a_discarded_body_fails_with_PeerEOF_after_the_truncated_frame()
    {
        await using var wire = new PipeWire(new FrameTransportOptions { ReaderLimits = FrameReaderLimits.Default with { MaxDataLength = 10 } });
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        byte[] data = TestWire.Encode(Frame.Data(1, new byte[100]));
        await wire.SendAsync(data[..^40]);
        await wire.EndAsync();

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Does.Contain("40 more bytes"));
        Assert.That(observer.Frames, Has.Length.EqualTo(1));
        Assert.That(observer.Frames[0].IsTruncated, Is.True);
    }

    [Test]
    public async Task A_malformed_frame_fails_with_the_codec_error_and_nothing_after_it_is_read()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        // RST with length 3 (and 3 body bytes), then a valid frame that must not be delivered.
        byte[] badRst = [0, 0, 3, 0x00, 0, 0, 0, 1, 0, 0, 0];
        await wire.SendAsync([.. TestWire.Encode(Hello), .. badRst, .. TestWire.Encode(Credit)]);

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.TypeOf<MuxadoFrameException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.FrameSizeError));
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello }));
    }

    [Test]
    public async Task An_oversized_DATA_arrives_truncated_and_the_next_frame_parses_even_when_the_body_trickles_in()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        var body = new byte[300_000];
        Random.Shared.NextBytes(body);
        byte[] bytes = [.. TestWire.Encode(Frame.Data(5, body, FrameFlags.Fin)), .. TestWire.Encode(Credit)];

        // The truncated frame is handed out as soon as its header is in: the reader never waits for bytes it drops.
        await wire.SendAsync(bytes[..1000]);
        await observer.WaitForCountAsync(1);
        await wire.SendChunkedAsync(bytes[1000..], 997);
        await wire.EndAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        var frames = observer.Frames;
        Assert.That(frames, Has.Length.EqualTo(2));
        Assert.That(frames[0].Type, Is.EqualTo(FrameType.Data));
        Assert.That(frames[0].IsTruncated, Is.True);
        Assert.That(frames[0].Length, Is.EqualTo(300_000));
        Assert.That(frames[0].Payload.Length, Is.Zero);
        Assert.That(frames[0].StreamId, Is.EqualTo(5u));
        Assert.That(frames[0].IsFin, Is.True);
        Assert.That(frames[1], Is.EqualTo(Credit));
    }

    [Test]
    public async Task A_full_window_DATA_frame_arrives_whole_when_it_trickles_in_through_a_default_pipe()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        var body = new byte[256 * 1024];
        Random.Shared.NextBytes(body);
        var big = Frame.Data(7, body);
        await wire.SendChunkedAsync([.. TestWire.Encode(Hello, big, Credit)], 4096);
        await wire.EndAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello, big, Credit }));
    }

    [Test]
    public async Task A_long_GOAWAY_debug_text_is_cut_to_the_limit_and_the_stream_stays_in_sync()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        var debug = Encoding.ASCII.GetBytes(new string('x', 100_000));
        await wire.SendChunkedAsync([.. TestWire.Encode(Frame.GoAway(9, ErrorCode.ProtocolError, debug), Credit)], 3000);
        await wire.EndAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        var frames = observer.Frames;
        Assert.That(frames, Has.Length.EqualTo(2));
        Assert.That(frames[0].IsTruncated, Is.True);
        Assert.That(frames[0].Payload.Length, Is.EqualTo(FrameReaderLimits.Default.MaxDebugLength));
        Assert.That(frames[0].LastStreamId, Is.EqualTo(9u));
        Assert.That(frames[1], Is.EqualTo(Credit));
    }

    [Test]
    public async Task Payloads_handed_out_stay_intact_after_more_data_is_read()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        var expected = Enumerable.Range(0, 200)
            .Select(i => Frame.Data((uint)(i % 7) + 1, Enumerable.Repeat((byte)i, 1 + (i * 37 % 3000)).ToArray()))
            .ToArray();
        await wire.SendChunkedAsync(TestWire.Encode(expected), 1500);
        await wire.EndAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        // Compared only now, after the pipe's buffers were reused many times over.
        Assert.That(observer.Frames, Is.EqualTo(expected));
    }

    [Test]
    public void A_second_subscription_throws()
    {
        var wire = new PipeWire();
        using var first = wire.Transport.Inbound.Subscribe(new RecordingObserver());
        Assert.That(() => wire.Transport.Inbound.Subscribe(new RecordingObserver()), Throws.InvalidOperationException);
    }

    [Test]
    public async Task Disposing_the_subscription_stops_reading_without_a_notification()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        var subscription = wire.Transport.Inbound.Subscribe(observer);
        await wire.SendAsync(TestWire.Encode(Hello));
        await observer.WaitForCountAsync(1);

        subscription.Dispose();
        await wire.SendAsync(TestWire.Encode(Credit));
        await wire.EndAsync();
        await wire.DisposeAsync();

        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(observer.IsDone, Is.False);
    }

    [Test]
    public async Task Disposing_from_inside_OnNext_does_not_deadlock_and_ends_inbound()
    {
        var wire = new PipeWire();
        var observer = new RecordingObserver { OnFrame = _ => wire.Transport.DisposeAsync().AsTask().Wait() };
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        await wire.SendAsync(TestWire.Encode(Hello, Credit));

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello }));
        await wire.DisposeAsync();
    }

    [Test]
    public async Task An_observer_that_throws_stops_the_reader_and_closes_the_transport()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver { OnFrame = _ => throw new InvalidOperationException("observer bug") };
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        await wire.SendAsync(TestWire.Encode(Hello, Credit));

        // The peer sees the connection end: the transport completed its output.
        Assert.That(await TestWire.ReadToEndAsync(wire.FromTransport.Reader), Is.Empty);
        Assert.That(observer.Frames, Is.EqualTo(new[] { Hello }));
        Assert.That(observer.IsDone, Is.False, "the Rx grammar allows no notification after OnNext threw");
    }
}
