using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>Helpers to build transports over test connections and to encode and decode raw wire bytes.</summary>
internal static class TestWire
{
    public static byte[] Encode(params Frame[] frames)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var frame in frames)
        {
            FrameWriter.Write(buffer, frame);
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static List<Frame> Decode(ReadOnlySequence<byte> bytes)
    {
        var frames = new List<Frame>();
        while (FrameReader.TryRead(ref bytes, FrameReaderLimits.Default, out var frame, out long discard))
        {
            Assert.That(discard, Is.Zero);
            frames.Add(frame);
        }
        Assert.That(bytes.Length, Is.Zero, "trailing bytes that are not a whole frame");
        return frames;
    }

    /// <summary>Reads everything the pipe holds until its writer completes.</summary>
    public static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
            if (result.IsCompleted)
            {
                byte[] all = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return all;
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>A connected pair of loopback TCP sockets.</summary>
    public static async Task<(Socket Client, Socket Server)> ConnectedSocketsAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(RecordingObserver.Timeout);
        var server = await accept.WaitAsync(RecordingObserver.Timeout);
        return (client, server);
    }
}

/// <summary>An <see cref="IDuplexPipe"/> made of the reading end of one pipe and the writing end of another.</summary>
internal sealed record TestDuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

/// <summary>
/// A transport over two pipes whose other ends the test holds: it writes raw bytes to <see cref="ToTransport"/>
/// and reads what the transport wrote from <see cref="FromTransport"/>.
/// </summary>
internal sealed class PipeWire : IAsyncDisposable
{
    public PipeWire(FrameTransportOptions? options = null, PipeOptions? outputOptions = null)
    {
        ToTransport = new Pipe();
        FromTransport = new Pipe(outputOptions ?? PipeOptions.Default);
        Transport = FrameTransport.FromPipe(new TestDuplexPipe(ToTransport.Reader, FromTransport.Writer), options);
    }

    public Pipe ToTransport { get; }
    public Pipe FromTransport { get; }
    public FrameTransport Transport { get; }

    public async Task SendAsync(byte[] bytes)
    {
        await ToTransport.Writer.WriteAsync(bytes).AsTask().WaitAsync(RecordingObserver.Timeout);
    }

    /// <summary>Sends <paramref name="bytes"/> in flushed chunks of <paramref name="chunk"/> bytes.</summary>
    public async Task SendChunkedAsync(byte[] bytes, int chunk)
    {
        for (int i = 0; i < bytes.Length; i += chunk)
        {
            await ToTransport.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i))).AsTask().WaitAsync(RecordingObserver.Timeout);
        }
    }

    public async Task EndAsync() => await ToTransport.Writer.CompleteAsync();

    public async ValueTask DisposeAsync() => await Transport.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
}
