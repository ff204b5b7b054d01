using System.Buffers;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// Options for the transports made by <see cref="FrameTransport.FromStream"/>, <see cref="FrameTransport.FromPipe"/>
/// and <see cref="FrameTransport.FromSocket"/>.
/// </summary>
/// <remarks>
/// Each setter validates its value. A transport copies the options when it is created, so changing an options
/// object afterwards does not affect transports already made from it.
/// </remarks>
public sealed class FrameTransportOptions
{
    private FrameReaderLimits _readerLimits = FrameReaderLimits.Default;
    private int _writeBufferSize = 16 * 1024;
    private int _maxRetainedWriteBufferSize = 4 * 1024 * 1024;
    private int _readBufferSize = 256 * 1024;

    /// <summary>How many body bytes the reader keeps per frame (default <see cref="FrameReaderLimits.Default"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit is negative.</exception>
    public FrameReaderLimits ReaderLimits
    {
        get => _readerLimits;
        set => _readerLimits = ValidateLimits(value, nameof(value));
    }

    /// <summary>
    /// When true, the transport never closes, disposes or completes the stream, socket or pipe it was given:
    /// the caller keeps ownership. Default false: the transport owns the connection.
    /// </summary>
    /// <remarks>
    /// With <c>LeaveOpen</c>, <c>Outbound.OnCompleted</c> only writes what is queued (wait for
    /// <see cref="FrameTransport.WaitForWriteSpaceAsync"/> with threshold 0 to know when that is done), and
    /// stopping relies on the connection honouring cancellation of a pending read or write.
    /// </remarks>
    public bool LeaveOpen { get; set; }

    /// <summary>
    /// Initial size in bytes of each of the two write buffers that frames are encoded into (default 16 KiB).
    /// The buffers grow as needed. They are rented from the shared array pool when there is something to write and
    /// given back when the writer goes idle, so an idle transport holds none.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 256.</exception>
    public int WriteBufferSize
    {
        get => _writeBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 256);
            _writeBufferSize = value;
        }
    }

    /// <summary>
    /// A write buffer that grew beyond this many bytes (for a burst of large frames) is given back to the pool after
    /// its bytes are written instead of being kept for the next batch, so a busy transport does not hold on to a
    /// burst's memory (default 4 MiB: above twice a session's default write-queue bound, so a burst of many streams
    /// does not regrow the buffer from scratch every time). An idle transport gives back every buffer anyway.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 256.</exception>
    public int MaxRetainedWriteBufferSize
    {
        get => _maxRetainedWriteBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 256);
            _maxRetainedWriteBufferSize = value;
        }
    }

    /// <summary>
    /// Size in bytes of the read buffer of a stream or socket transport (default 256 KiB, the default window: one
    /// read can take in several default-size DATA frames, which cut the receive system calls of a bulk transfer by
    /// 40 % against 64 KiB). Sockets, network streams, TLS streams and WebSockets wait with zero-byte reads, so an idle
    /// connection holds no buffer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1024.</exception>
    public int ReadBufferSize
    {
        get => _readBufferSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1024);
            _readBufferSize = value;
        }
    }

    /// <summary>
    /// Where the write buffers are rented from (<see cref="ArrayPool{T}.Shared"/>; tests put in a pool that checks how
    /// the arrays are used).
    /// </summary>
    internal ArrayPool<byte> WriteBufferPool { get; set; } = ArrayPool<byte>.Shared;

    /// <summary>The options used when none are given.</summary>
    internal static FrameTransportOptions Default { get; } = new();

    /// <summary>Rejects limits that would make the reader slice with a negative length.</summary>
    internal static FrameReaderLimits ValidateLimits(FrameReaderLimits limits, string paramName)
    {
        if (limits.MaxDataLength < 0 || limits.MaxDebugLength < 0 || limits.MaxUnknownLength < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, limits, "Reader limits must not be negative.");
        }
        return limits;
    }
}
