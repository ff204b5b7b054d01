using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// Reads frames from a <see cref="PipeReader"/> and hands each one to a delivery callback, one at a time.
/// </summary>
/// <remarks>
/// <para>Frames are parsed straight from the pipe's buffers with <see cref="FrameReader.TryRead"/>. Body bytes the
/// reader does not keep (an oversized DATA, a long GOAWAY debug text) are skipped as they stream past, never
/// buffered.</para>
/// <para>A kept frame larger than <see cref="GatherThreshold"/> that has not fully arrived is gathered into a
/// pooled buffer of its exact size as its bytes arrive, and those bytes are consumed from the pipe. Without this,
/// a 256 KiB DATA frame written into a <see cref="Pipe"/> in small flushed chunks would stall for ever: the pipe
/// pauses its writer once 64 KiB (its default) are unconsumed, while the parser waits for the whole frame.
/// The payload is still copied out by <see cref="FrameReader"/>, so the pooled buffer never escapes.</para>
/// </remarks>
internal sealed class FrameReadLoop(PipeReader reader, FrameReaderLimits limits, Func<Frame, bool> deliver)
{
    /// <summary>Incomplete frames up to this wire size wait in the pipe; larger ones are gathered.</summary>
    internal const int GatherThreshold = 16 * 1024;

    private long _discard;
    private byte[]? _gather;
    private int _gathered;
    private int _gatherLength;
    private long _gatherWireLength;

    /// <summary>
    /// Reads until end of stream (returns true), or until the delivery callback returns false (returns false).
    /// </summary>
    /// <exception cref="MuxadoFrameException">A malformed frame.</exception>
    /// <exception cref="MuxadoException">The stream ended in the middle of a frame (<see cref="ErrorCode.PeerEOF"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        try
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
                        if (!buffer.IsEmpty || _discard > 0 || _gather is not null)
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
        finally
        {
            ReturnGatherBuffer();
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

            Frame frame;
            if (_gather is not null)
            {
                if (!TryGather(ref buffer, out frame))
                {
                    return true;
                }
            }
            else if (!FrameReader.TryRead(ref buffer, limits, out frame, out _discard))
            {
                if (buffer.Length >= Frame.HeaderLength && StartGathering(buffer))
                {
                    continue;
                }
                return true;
            }

            if (!deliver(frame))
            {
                return false;
            }
        }
    }

    private bool StartGathering(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[Frame.HeaderLength];
        buffer.Slice(0, Frame.HeaderLength).CopyTo(header);
        int kept = KeptWireLength(header, limits);
        if (kept <= GatherThreshold)
        {
            return false;
        }
        _gather = ArrayPool<byte>.Shared.Rent(kept);
        _gatherLength = kept;
        _gathered = 0;
        _gatherWireLength = Frame.HeaderLength + BodyLength(header);
        return true;
    }

    private bool TryGather(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        int take = (int)Math.Min(_gatherLength - _gathered, buffer.Length);
        buffer.Slice(0, take).CopyTo(_gather.AsSpan(_gathered));
        buffer = buffer.Slice(take);
        _gathered += take;
        if (_gathered < _gatherLength)
        {
            frame = default;
            return false;
        }
        var whole = new ReadOnlySequence<byte>(_gather!, 0, _gatherLength);
        bool parsed = FrameReader.TryRead(ref whole, limits, out frame, out _discard);
        ReturnGatherBuffer();
        if (!parsed || !whole.IsEmpty)
        {
            // Only if KeptWireLength no longer matches the codec; fail loudly rather than desynchronise.
            throw new InvalidOperationException("The frame gatherer's size rule disagrees with FrameReader.");
        }
        return true;
    }

    private void ReturnGatherBuffer()
    {
        if (_gather is not null)
        {
            ArrayPool<byte>.Shared.Return(_gather);
            _gather = null;
        }
    }

    /// <summary>
    /// Header plus the body bytes <see cref="FrameReader"/> keeps of the frame that starts with
    /// <paramref name="header"/>: the bytes it needs buffered before it returns the frame.
    /// </summary>
    /// <remarks>Mirrors the codec's rule (only GOAWAY keeps part of its body); a test checks that they agree.</remarks>
    internal static int KeptWireLength(ReadOnlySpan<byte> header, in FrameReaderLimits limits)
    {
        int length = BodyLength(header);
        int kept = (FrameType)(header[3] >> 4) switch
        {
            FrameType.Rst or FrameType.WndInc => length,
            FrameType.Data => length <= limits.MaxDataLength ? length : 0,
            FrameType.GoAway => Frame.GoAwayFixedLength + Math.Min(length - Frame.GoAwayFixedLength, limits.MaxDebugLength),
            _ => length <= limits.MaxUnknownLength ? length : 0,
        };
        return Frame.HeaderLength + kept;
    }

    private static int BodyLength(ReadOnlySpan<byte> header) => (header[0] << 16) | (header[1] << 8) | header[2];

    private MuxadoException EndedMidFrame(ReadOnlySequence<byte> rest)
    {
        long missing;
        if (_gather is not null)
        {
            missing = _gatherWireLength - _gathered;
        }
        else if (_discard > 0)
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
