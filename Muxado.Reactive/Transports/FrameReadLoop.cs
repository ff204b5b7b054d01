using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// Reads frames from a <see cref="PipeReader"/> and hands each one to a delivery callback, one at a time.
/// </summary>
/// <remarks>
/// <para>Frames are parsed straight from the pipe's buffers with <see cref="FrameReader.TryRead"/>, which copies
/// each payload, so nothing handed out refers to the pipe's pooled memory. Body bytes the reader does not keep
/// (an oversized DATA, a long GOAWAY debug text) are skipped as they stream past, never buffered.</para>
/// <para>A frame that has not fully arrived stays in the pipe, at most one kept frame (bounded by the
/// <see cref="FrameReaderLimits"/>). Marking those bytes examined lets a <see cref="Pipe"/> writer go on past
/// its pause threshold, since a pipe counts examined bytes, not consumed ones, for back-pressure.</para>
/// </remarks>
internal sealed class FrameReadLoop(PipeReader reader, FrameReaderLimits limits, Func<Frame, bool> deliver)
{
    private long _discard;

    /// <summary>
    /// Reads until end of stream (returns true), or until the delivery callback returns false (returns false).
    /// </summary>
    /// <exception cref="MuxadoFrameException">A malformed frame.</exception>
    /// <exception cref="MuxadoException">The stream ended in the middle of a frame (<see cref="ErrorCode.PeerEOF"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The pending read was cancelled.");
            }
            var buffer = result.Buffer;
            bool more;
            try
            {
                more = Consume(ref buffer);
                if (more && result.IsCompleted)
                {
                    if (!buffer.IsEmpty || _discard > 0)
                    {
                        throw EndedMidFrame(buffer);
                    }
                    return true;
                }
            }
            finally
            {
                // Examined everything: the next read waits for new bytes instead of returning the same ones.
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            if (!more)
            {
                return false;
            }
        }
    }

    /// <summary>Parses and delivers every frame in <paramref name="buffer"/>; false when delivery said stop.</summary>
    private bool Consume(ref ReadOnlySequence<byte> buffer)
    {
        while (true)
        {
            if (_discard > 0)
            {
                long skip = Math.Min(_discard, buffer.Length);
                buffer = buffer.Slice(skip);
                _discard -= skip;
                if (_discard > 0)
                {
                    return true;
                }
            }

            if (!FrameReader.TryRead(ref buffer, limits, out var frame, out _discard))
            {
                return true;
            }
            if (!deliver(frame))
            {
                return false;
            }
        }
    }

    private static int BodyLength(ReadOnlySpan<byte> header) => (header[0] << 16) | (header[1] << 8) | header[2];

    private MuxadoException EndedMidFrame(ReadOnlySequence<byte> rest)
    {
        long missing;
        if (_discard > 0)
        {
            missing = _discard;
        }
        else if (rest.Length < Frame.HeaderLength)
        {
            return new MuxadoException(ErrorCode.PeerEOF, string.Create(CultureInfo.InvariantCulture,
                $"the transport ended in the middle of a frame header: {Frame.HeaderLength - rest.Length} of its {Frame.HeaderLength} bytes were missing"));
        }
        else
        {
            Span<byte> header = stackalloc byte[Frame.HeaderLength];
            rest.Slice(0, Frame.HeaderLength).CopyTo(header);
            missing = Frame.HeaderLength + BodyLength(header) - rest.Length;
        }
        return new MuxadoException(ErrorCode.PeerEOF, string.Create(CultureInfo.InvariantCulture,
            $"the transport ended in the middle of a frame: {missing} more bytes were expected"));
    }
}
