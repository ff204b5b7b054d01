using System.Buffers;
using System.Buffers.Binary;

namespace Muxado.Reactive.Frames;

/// <summary>
/// Encodes frames into an <see cref="IBufferWriter{T}"/> or a span. Pure: no I/O.
/// </summary>
public static class FrameWriter
{
    /// <summary>Writes <paramref name="frame"/> (header and body) to <paramref name="writer"/>.</summary>
    /// <exception cref="ArgumentException">The frame is truncated (decoded with bytes discarded) and cannot be re-encoded.</exception>
    public static void Write(IBufferWriter<byte> writer, in Frame frame)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int size = frame.WireLength;
        // Large DATA bodies are copied straight from the payload rather than through one huge span.
        if (size > 16 * 1024 && frame.Type == FrameType.Data)
        {
            WriteHeader(writer.GetSpan(Frame.HeaderLength), frame);
            writer.Advance(Frame.HeaderLength);
            writer.Write(frame.Payload.Span);
            return;
        }
        int written = Write(writer.GetSpan(size), frame);
        writer.Advance(written);
    }

    /// <summary>Writes <paramref name="frame"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, in Frame frame)
    {
        int size = frame.WireLength;
        if (destination.Length < size)
        {
            throw new ArgumentException($"The destination has {destination.Length} bytes; the frame needs {size}.", nameof(destination));
        }
        WriteHeader(destination, frame);
        var body = destination[Frame.HeaderLength..size];
        switch (frame.Type)
        {
            case FrameType.Rst:
            case FrameType.WndInc:
                BinaryPrimitives.WriteUInt32BigEndian(body, frame.Value);
                break;
            case FrameType.GoAway:
                BinaryPrimitives.WriteUInt32BigEndian(body, frame.LastStreamId);
                BinaryPrimitives.WriteUInt32BigEndian(body[4..], frame.Value);
                frame.Payload.Span.CopyTo(body[Frame.GoAwayFixedLength..]);
                break;
            default:
                frame.Payload.Span.CopyTo(body);
                break;
        }
        return size;
    }

    private static void WriteHeader(Span<byte> destination, in Frame frame)
    {
        if (frame.IsTruncated)
        {
            throw new ArgumentException("A truncated frame (its body was partly discarded on read) cannot be encoded.", nameof(frame));
        }
        int length = frame.Length;
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = (byte)(((byte)frame.Type << 4) | ((byte)frame.Flags & 0xF));
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], frame.StreamId & Frame.MaxStreamId);
    }
}
