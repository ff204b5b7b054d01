using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>The writing side of the pipe-based transport: coalescing, ownership, completion, failure, back-pressure.</summary>
[TestFixture]
public sealed class PipeTransportWriteTests
{
    private static readonly Frame Hello = Frame.Data(3, Encoding.ASCII.GetBytes("hello"), FrameFlags.Syn);

    [Test]
    public async Task Frames_are_written_in_order_and_OnCompleted_ends_the_output_after_them()
    {
        await using var wire = new PipeWire();
        var frames = new[] { Hello, Frame.WndInc(3, 5), Frame.Rst(3, ErrorCode.StreamClosed), Frame.GoAway(4, ErrorCode.NoError, "no error") };

        foreach (var frame in frames)
        {
            wire.Transport.Outbound.OnNext(frame);
        }
        wire.Transport.Outbound.OnCompleted();

        byte[] written = await TestWire.ReadToEndAsync(wire.FromTransport.Reader);
        Assert.That(TestWire.Decode(new ReadOnlySequence<byte>(written)), Is.EqualTo(frames));
    }

    [Test]
    public async Task The_payload_is_copied_before_OnNext_returns()
    {
        await using var wire = new PipeWire();
        byte[] buffer = Encoding.ASCII.GetBytes("original");

        wire.Transport.Outbound.OnNext(Frame.Data(1, buffer));
        Array.Fill(buffer, (byte)'X');
        wire.Transport.Outbound.OnCompleted();

        byte[] written = await TestWire.ReadToEndAsync(wire.FromTransport.Reader);
        Assert.That(TestWire.Decode(new ReadOnlySequence<byte>(written)), Is.EqualTo(new[] { Frame.Data(1, Encoding.ASCII.GetBytes("original")) }));
    }

    [Test]
    public async Task Frames_queued_during_a_write_go_out_together_in_the_next_write()
    {
        var stream = new GatedStream();
        await using var transport = FrameTransport.FromStream(stream);

        transport.Outbound.OnNext(Hello);
        await stream.FirstWriteStarted.WaitAsync(RecordingObserver.Timeout);
        var more = Enumerable.Range(1, 100).Select(i => Frame.WndInc((uint)i, (uint)i)).ToArray();
        foreach (var frame in more)
        {
            transport.Outbound.OnNext(frame);
        }
        Assert.That(transport.PendingWriteBytes, Is.EqualTo(Hello.WireLength + (100 * 12)));
        stream.Open();
        await transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);

        var writes = stream.Writes;
        Assert.That(writes, Has.Length.EqualTo(2), "one write for the first frame, one for everything queued meanwhile");
        Assert.That(TestWire.Decode(new ReadOnlySequence<byte>(writes[1])), Is.EqualTo(more));
    }

    [Test]
    public async Task WaitForWriteSpaceAsync_completes_when_the_queue_drains_below_the_threshold()
    {
        // A pipe that pauses its writer after 1 KiB: the transport's flush waits until the test reads.
        await using var wire = new PipeWire(outputOptions: new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var big = Frame.Data(1, new byte[4096]);

        wire.Transport.Outbound.OnNext(big);

        Assert.That(wire.Transport.PendingWriteBytes, Is.EqualTo(big.WireLength));
        Assert.That(wire.Transport.WaitForWriteSpaceAsync(big.WireLength).AsTask().IsCompleted, Is.True, "already at the threshold");
        var drained = wire.Transport.WaitForWriteSpaceAsync(0).AsTask();
        using var cancel = new CancellationTokenSource();
        var cancelled = wire.Transport.WaitForWriteSpaceAsync(0, cancel.Token).AsTask();
        Assert.That(drained.IsCompleted, Is.False);

        await cancel.CancelAsync();
        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(drained.IsCompleted, Is.False);

        var read = await wire.FromTransport.Reader.ReadAsync();
        wire.FromTransport.Reader.AdvanceTo(read.Buffer.End);
        await drained.WaitAsync(RecordingObserver.Timeout);
        Assert.That(wire.Transport.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public async Task WaitForWriteSpaceAsync_is_released_by_dispose()
    {
        var wire = new PipeWire(outputOptions: new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        wire.Transport.Outbound.OnNext(Frame.Data(1, new byte[4096]));
        var waiting = wire.Transport.WaitForWriteSpaceAsync(0).AsTask();

        await wire.DisposeAsync();

        await waiting.WaitAsync(RecordingObserver.Timeout);
        Assert.That(wire.Transport.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public async Task A_failed_write_fails_Inbound_and_later_frames_are_ignored()
    {
        await using var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);

        // The peer stops reading: the next flush reports the pipe's reader completed.
        await wire.FromTransport.Reader.CompleteAsync();
        wire.Transport.Outbound.OnNext(Hello);

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.InstanceOf<MuxadoException>());
        Assert.That(error!.Message, Does.StartWith("write to transport failed"));
        Assert.That(error.InnerException, Is.Not.Null);

        Assert.That(() => wire.Transport.Outbound.OnNext(Hello), Throws.Nothing);
        await wire.Transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        Assert.That(wire.Transport.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public async Task A_write_failure_before_anyone_subscribed_is_reported_on_subscription()
    {
        var stream = new GatedStream(startOpen: true) { FailWritesWith = new IOException("broken pipe") };
        await using var transport = FrameTransport.FromStream(stream);

        transport.Outbound.OnNext(Hello);
        await transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        var observer = new RecordingObserver();
        using var _ = transport.Inbound.Subscribe(observer);

        var error = await observer.WaitDoneAsync();
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Does.Contain("write to transport failed").And.Contain("broken pipe"));
        Assert.That(stream.Disposed, Is.True, "the connection is closed");
    }

    [Test]
    public async Task Outbound_OnError_aborts_dropping_unwritten_frames_and_Inbound_completes()
    {
        var stream = new GatedStream();
        await using var transport = FrameTransport.FromStream(stream);
        var observer = new RecordingObserver();
        using var _ = transport.Inbound.Subscribe(observer);

        transport.Outbound.OnNext(Hello);
        await stream.FirstWriteStarted.WaitAsync(RecordingObserver.Timeout);
        transport.Outbound.OnNext(Hello);
        transport.Outbound.OnError(new InvalidOperationException("session died"));

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
        Assert.That(transport.PendingWriteBytes, Is.Zero);
        Assert.That(stream.Writes, Is.Empty);
        Assert.That(stream.Disposed, Is.True);
    }

    [Test]
    public async Task OnCompleted_on_a_stream_writes_everything_then_disposes_it_unless_left_open()
    {
        var owned = new GatedStream(startOpen: true);
        var kept = new GatedStream(startOpen: true);
        await using var ownedTransport = FrameTransport.FromStream(owned);
        await using var keptTransport = FrameTransport.FromStream(kept, new FrameTransportOptions { LeaveOpen = true });

        foreach (var transport in new[] { ownedTransport, keptTransport })
        {
            transport.Outbound.OnNext(Hello);
            transport.Outbound.OnCompleted();
            transport.Outbound.OnNext(Hello); // after completion: ignored
            await transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        }
        await ownedTransport.DisposeAsync();
        await keptTransport.DisposeAsync();

        Assert.That(owned.Writes.Sum(w => w.Length), Is.EqualTo(Hello.WireLength));
        Assert.That(kept.Writes.Sum(w => w.Length), Is.EqualTo(Hello.WireLength));
        Assert.That(owned.Disposed, Is.True);
        Assert.That(kept.Disposed, Is.False);
    }

    [Test]
    public async Task Dispose_is_idempotent_and_safe_to_race()
    {
        var wire = new PipeWire();
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);
        wire.Transport.Outbound.OnNext(Hello);

        var disposals = Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await wire.Transport.DisposeAsync())).ToArray();
        await Task.WhenAll(disposals).WaitAsync(RecordingObserver.Timeout);
        await wire.DisposeAsync();

        Assert.That(await observer.WaitDoneAsync(), Is.Null, "a close of our own completes Inbound");
        Assert.That(observer.GrammarBroken, Is.False);
        Assert.That(() => wire.Transport.Outbound.OnNext(Hello), Throws.Nothing);
        Assert.That(wire.Transport.PendingWriteBytes, Is.Zero);
    }

    [Test]
    public async Task Subscribing_after_dispose_completes_at_once()
    {
        var wire = new PipeWire();
        await wire.DisposeAsync();
        var observer = new RecordingObserver();

        using var _ = wire.Transport.Inbound.Subscribe(observer);

        Assert.That(await observer.WaitDoneAsync(), Is.Null);
    }

    [Test]
    public async Task A_truncated_frame_cannot_be_sent()
    {
        await using var wire = new PipeWire(new FrameTransportOptions { ReaderLimits = FrameReaderLimits.Default with { MaxDataLength = 2 } });
        var observer = new RecordingObserver();
        using var _ = wire.Transport.Inbound.Subscribe(observer);
        await wire.SendAsync(TestWire.Encode(Frame.Data(1, new byte[10])));
        await observer.WaitForCountAsync(1);

        Assert.That(() => wire.Transport.Outbound.OnNext(observer.Frames[0]), Throws.ArgumentException);
        Assert.That(wire.Transport.PendingWriteBytes, Is.Zero);
    }
}
