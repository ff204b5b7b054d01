using System.IO.Pipelines;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

[TestFixture]
public sealed class FrameTransportOptionsTests
{
    [Test]
    public void Defaults()
    {
        var options = new FrameTransportOptions();
        Assert.That(options.ReaderLimits, Is.EqualTo(FrameReaderLimits.Default));
        Assert.That(options.LeaveOpen, Is.False);
        Assert.That(options.WriteBufferSize, Is.EqualTo(16 * 1024));
        Assert.That(options.MaxRetainedWriteBufferSize, Is.EqualTo(4 * 1024 * 1024));
        Assert.That(options.ReadBufferSize, Is.EqualTo(256 * 1024));
    }

    [Test]
    public void Invalid_values_are_rejected()
    {
        var options = new FrameTransportOptions();
        Assert.That(() => options.ReaderLimits = FrameReaderLimits.Default with { MaxDataLength = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => options.WriteBufferSize = 0, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => options.MaxRetainedWriteBufferSize = 10, Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => options.ReadBufferSize = 1023, Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task With_LeaveOpen_the_pipe_is_neither_completed_nor_left_with_a_cancelled_read()
    {
        var toTransport = new Pipe();
        var fromTransport = new Pipe();
        var transport = FrameTransport.FromPipe(new TestDuplexPipe(toTransport.Reader, fromTransport.Writer), new FrameTransportOptions { LeaveOpen = true });
        var observer = new RecordingObserver();
        using var _ = transport.Inbound.Subscribe(observer);
        var frame = Frame.WndInc(1, 1);

        transport.Outbound.OnNext(frame);
        transport.Outbound.OnCompleted();
        await transport.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        await transport.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
        Assert.That(await observer.WaitDoneAsync(), Is.Null);

        // The caller still owns both ends: it can keep writing and reading them.
        await fromTransport.Writer.WriteAsync(TestWire.Encode(frame));
        await fromTransport.Writer.CompleteAsync();
        Assert.That(await TestWire.ReadToEndAsync(fromTransport.Reader), Is.EqualTo(TestWire.Encode(frame, frame)));
        await toTransport.Writer.WriteAsync(new byte[] { 42 });
        var read = await toTransport.Reader.ReadAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
        Assert.That(read.IsCanceled, Is.False);
        Assert.That(read.Buffer.Length, Is.EqualTo(1));
    }
}
