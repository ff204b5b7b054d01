using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;

namespace Muxado.Reactive.Frames;

/// <summary>
/// Parses frames from a <see cref="ReadOnlySequence{T}"/> (for example a pipe's buffer).
/// Pure: no I/O, no clock, no state between calls.
/// </summary>
public static class FrameReader
{
    /// <summary>
    /// Tries to parse one frame from the start of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">The bytes read so far; on success it is advanced past the bytes consumed.</param>
    /// <param name="limits">How many body bytes to keep (see <see cref="FrameReaderLimits"/>).</param>
    /// <param name="frame">The frame; its payload is a fresh copy that the caller owns.</param>
    /// <param name="bytesToDiscard">Body bytes of this frame still to skip, as they arrive, because
    /// the frame was larger than <paramref name="limits"/> keeps (the frame is then truncated).</param>
    /// <returns>False when the buffer holds only part of a frame: read more and call again.</returns>
    /// <exception cref="MuxadoFrameException">The frame breaks the wire format (PROTOCOL.md, "Frame errors");
    /// the session must end with the exception's code.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, in FrameReaderLimits limits, out Frame frame, out long bytesToDiscard)
    {
        frame = default;
        bytesToDiscard = 0;
        if (buffer.Length < Frame.HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[Frame.HeaderLength];
        buffer.Slice(0, Frame.HeaderLength).CopyTo(header);
        int length = (header[0] << 16) | (header[1] << 8) | header[2];
        var type = (FrameType)(header[3] >> 4);
        var flags = (FrameFlags)(header[3] & 0xF);
        uint streamId = BinaryPrimitives.ReadUInt32BigEndian(header[4..]) & Frame.MaxStreamId;

        Validate(type, length, streamId);
        int kept = KeptLength(type, length, limits);
        if (buffer.Length < Frame.HeaderLength + kept)
        {
            return false;
        }

        var body = buffer.Slice(Frame.HeaderLength, kept);
        frame = Decode(type, flags, streamId, length, body);
        buffer = buffer.Slice(Frame.HeaderLength + kept);
        bytesToDiscard = length - kept;
        return true;
    }

    private static void Validate(FrameType type, int length, uint streamId)
    {
        switch (type)
        {
            case FrameType.Rst:
            case FrameType.WndInc:
                if (length != 4)
                {
                    throw new MuxadoFrameException(ErrorCode.FrameSizeError, string.Create(CultureInfo.InvariantCulture,
                        $"illegal {Name(type)} frame length: 0x{length:x}"));
                }
                RequireNonZero(type, streamId);
                break;
            case FrameType.GoAway:
                if (length < Frame.GoAwayFixedLength)
                {
                    throw new MuxadoFrameException(ErrorCode.FrameSizeError, string.Create(CultureInfo.InvariantCulture,
                        $"illegal GOAWAY frame length: 0x{length:x}"));
                }
                if (streamId != 0)
                {
                    throw new MuxadoFrameException(ErrorCode.ProtocolError, string.Create(CultureInfo.InvariantCulture,
                        $"GOAWAY frame on stream 0x{streamId:x}, must be 0"));
                }
                break;
            case FrameType.Data:
                RequireNonZero(type, streamId);
                break;
        }
    }

    private static void RequireNonZero(FrameType type, uint streamId)
    {
        if (streamId == 0)
        {
            throw new MuxadoFrameException(ErrorCode.ProtocolError, $"{Name(type)} frame on stream 0");
        }
    }

    private static int KeptLength(FrameType type, int length, in FrameReaderLimits limits) => type switch
    {
        FrameType.Rst or FrameType.WndInc => length,
        FrameType.Data => length <= limits.MaxDataLength ? length : 0,
        FrameType.GoAway => Frame.GoAwayFixedLength + Math.Min(length - Frame.GoAwayFixedLength, limits.MaxDebugLength),
        _ => length <= limits.MaxUnknownLength ? length : 0,
    };

    private static Frame Decode(FrameType type, FrameFlags flags, uint streamId, int length, ReadOnlySequence<byte> body)
    {
        Span<byte> fixedPart = stackalloc byte[Frame.GoAwayFixedLength];
        switch (type)
        {
            case FrameType.Rst:
                body.CopyTo(fixedPart);
                return Frame.Decoded(type, flags, streamId, default, BinaryPrimitives.ReadUInt32BigEndian(fixedPart), 0, length);
            case FrameType.WndInc:
                body.CopyTo(fixedPart);
                uint increment = BinaryPrimitives.ReadUInt32BigEndian(fixedPart) & 0x7FFFFFFF;
                if (increment == 0)
                {
                    throw new MuxadoFrameException(ErrorCode.ProtocolError, "WNDINC increment must not be zero, got: 0");
                }
                return Frame.Decoded(type, flags, streamId, default, increment, 0, length);
            case FrameType.GoAway:
                body.Slice(0, Frame.GoAwayFixedLength).CopyTo(fixedPart);
                uint last = BinaryPrimitives.ReadUInt32BigEndian(fixedPart) & Frame.MaxStreamId;
                uint code = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]);
                return Frame.Decoded(type, flags, streamId, Copy(body.Slice(Frame.GoAwayFixedLength)), code, last, length);
            default:
                return Frame.Decoded(type, flags, streamId, Copy(body), 0, 0, length);
        }
    }

    // The payload is copied so that it stays valid after the transport's buffer is reused
    // (DESIGN.md, "ownership of bytes"): receiving allocates exactly the delivered chunk.
    // The array is not zeroed first: every byte of it is overwritten by the copy at once.
    private static ReadOnlyMemory<byte> Copy(ReadOnlySequence<byte> body)
    {
        if (body.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var copy = GC.AllocateUninitializedArray<byte>((int)body.Length);
        body.CopyTo(copy);
        return copy;
    }

    private static string Name(FrameType type) => type switch
    {
        FrameType.Rst => "RST",
        FrameType.Data => "DATA",
        FrameType.WndInc => "WNDINC",
        FrameType.GoAway => "GOAWAY",
        _ => "UNKNOWN",
    };
}
