using System.Buffers;
using System.IO.Pipelines;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Support;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// The writer's buffers: rented only while there is something to write, given back when the writer goes idle or stops,
/// never given back while the connection may still read them, and never written after they were given back.
/// </summary>
[TestFixture]
public sealed class PipeTransportWriteBufferTests
{
    private static Frame DataFrame(uint id, int length) => Frame.Data(id, Enumerable.Repeat((byte)(id % 200 + 1), length).ToArray());

    [Test]
    public async Task An_idle_transport_holds_no_write_buffer_before_or_after_it_wrote()
    {
        var pool = new CheckingArrayPool();
        await using var wire = new PipeWire(new FrameTransportOptions { WriteBufferPool = pool });
        Assert.That(pool.Rents, Is.Zero, "nothing rented before the first frame");

        var frames = Enumerable.Range(1, 20).Select(i => DataFrame((uint)i, 100)).ToArray();
        foreach (var frame in frames)
        {
            wire.Transport.Outbound.OnNext(frame);
        }
        await wire.Transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        var read = await wire.FromTransport.Reader.ReadAtLeastAsync(frames.Sum(f => f.WireLength)).AsTask().WaitAsync(RecordingObserver.Timeout);
        var decoded = TestWire.Decode(read.Buffer);
        wire.FromTransport.Reader.AdvanceTo(read.Buffer.End);

        await Eventually.TrueAsync(() => pool.Outstanding == 0, "the writer went idle but kept a buffer");
        Assert.That(decoded, Is.EqualTo(frames));
        Assert.That(pool.Misuses, Is.Empty);
        Assert.That(pool.WrittenAfterReturn(), Is.Zero);
    }

    [Test]
    public async Task Frames_queued_while_a_write_is_in_progress_rent_no_more_than_the_second_buffer()
    {
        var pool = new CheckingArrayPool();
        var stream = new GatedStream();
        await using var transport = FrameTransport.FromStream(stream, new FrameTransportOptions { WriteBufferPool = pool });

        transport.Outbound.OnNext(DataFrame(1, 10));
        await stream.FirstWriteStarted.WaitAsync(RecordingObserver.Timeout);
        for (uint id = 3; id < 203; id += 2)
        {
            transport.Outbound.OnNext(DataFrame(id, 10));
        }

        Assert.That((pool.Rents, pool.Outstanding), Is.EqualTo((2, 2)), "the batch being written and the one filling");
        stream.Open();
        await transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        await Eventually.TrueAsync(() => pool.Outstanding == 0, "the writer went idle but kept a buffer");
        Assert.That(pool.Rents, Is.EqualTo(2));
    }

    [Test]
    public async Task A_dispose_during_a_write_leaves_the_batch_to_the_write_until_it_returns()
    {
        var pool = new CheckingArrayPool();
        var stream = new GatedStream { WritesIgnoreCancellation = true };
        var transport = FrameTransport.FromStream(stream, new FrameTransportOptions { WriteBufferPool = pool });
        var frame = DataFrame(1, 300);
        transport.Outbound.OnNext(frame);
        await stream.FirstWriteStarted.WaitAsync(RecordingObserver.Timeout);

        var disposed = transport.DisposeAsync().AsTask();

        Assert.That(pool.Outstanding, Is.EqualTo(1), "the stopped writer must not give back the array the write still reads");
        stream.Open(); // the write now copies the bytes it was given
        await disposed.WaitAsync(RecordingObserver.Timeout);
        Assert.That(stream.Writes, Has.Length.EqualTo(1));
        Assert.That(TestWire.Decode(new ReadOnlySequence<byte>(stream.Writes[0])), Is.EqualTo(new[] { frame }), "the write read poison");
        Assert.That(pool.Outstanding, Is.Zero, "given back once the write returned");
        Assert.That(pool.Misuses, Is.Empty);
        Assert.That(pool.WrittenAfterReturn(), Is.Zero);
    }

    [Test]
    public async Task A_failed_write_gives_every_buffer_back()
    {
        var pool = new CheckingArrayPool();
        var stream = new GatedStream { FailWritesWith = new IOException("broken") };
        var transport = FrameTransport.FromStream(stream, new FrameTransportOptions { WriteBufferPool = pool });
        var observer = new RecordingObserver();
        using var subscription = transport.Inbound.Subscribe(observer);
        transport.Outbound.OnNext(DataFrame(1, 10));
        await stream.FirstWriteStarted.WaitAsync(RecordingObserver.Timeout);
        transport.Outbound.OnNext(DataFrame(3, 10)); // into the second buffer, which the failure must release too

        stream.Open();
        await observer.WaitDoneAsync();
        await transport.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);

        Assert.That((pool.Rents, pool.Outstanding), Is.EqualTo((2, 0)));
        Assert.That(pool.Misuses, Is.Empty);
    }

    [Test]
    public async Task A_frame_refused_by_the_encoder_leaves_no_buffer_behind()
    {
        var pool = new CheckingArrayPool();
        await using var wire = new PipeWire(new FrameTransportOptions
        {
            WriteBufferPool = pool,
            ReaderLimits = FrameReaderLimits.Default with { MaxDataLength = 2 },
        });
        var observer = new RecordingObserver();
        using var subscription = wire.Transport.Inbound.Subscribe(observer);
        await wire.SendAsync(TestWire.Encode(Frame.Data(1, new byte[10])));
        await observer.WaitForCountAsync(1);
        var truncated = observer.Frames[0];

        // The writer has been asleep since it was made: nothing will wake it to give back what the encoder rented.
        Assert.That(() => wire.Transport.Outbound.OnNext(truncated), Throws.ArgumentException);

        Assert.That((pool.Rents, pool.Outstanding), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task Writers_racing_a_dispose_never_use_a_buffer_after_giving_it_back()
    {
        for (int round = 0; round < 20; round++)
        {
            var pool = new CheckingArrayPool();
            // The pipe pauses the transport's flushes after 4 KiB until the test reads: writes are in progress while
            // the writers fill the other buffer, and the dispose cuts into both.
            var wire = new PipeWire(new FrameTransportOptions { WriteBufferPool = pool, WriteBufferSize = 256 },
                new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048));
            var reading = TestWire.ReadToEndAsync(wire.FromTransport.Reader);
            using var go = new Barrier(3);
            var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
            {
                go.SignalAndWait();
                for (int i = 0; i < 500; i++)
                {
                    wire.Transport.Outbound.OnNext(DataFrame((uint)(2 * ((w * 500) + i) + 1), 1 + (i % 700)));
                }
            })).ToArray();

            go.SignalAndWait();
            await Task.Yield();
            await wire.Transport.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
            await Task.WhenAll(writers).WaitAsync(RecordingObserver.Timeout);
            byte[] written = await reading;

            // Whatever reached the wire is whole frames, each with its own bytes: no poison was read, nothing was torn.
            var frames = Decode(written);
            Assert.That(frames.Where(f => f.Payload.Span.ContainsAnyExcept((byte)(f.StreamId % 200 + 1))), Is.Empty, $"round {round}");
            Assert.That(pool.Outstanding, Is.Zero, $"round {round}: a buffer was kept after the writer stopped");
            Assert.That(pool.Misuses, Is.Empty, $"round {round}");
            Assert.That(pool.WrittenAfterReturn(), Is.Zero, $"round {round}: a buffer was written after it was given back");
        }
    }

    /// <summary>The frames in <paramref name="written"/>; the last one may have been cut off by the close.</summary>
    private static List<Frame> Decode(byte[] written)
    {
        var bytes = new ReadOnlySequence<byte>(written);
        var frames = new List<Frame>();
        while (FrameReader.TryRead(ref bytes, FrameReaderLimits.Default, out var frame, out long discard))
        {
            Assert.That(discard, Is.Zero);
            frames.Add(frame);
        }
        return frames;
    }
}
