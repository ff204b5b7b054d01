using System.IO.Pipelines;

namespace Muxado.Reactive.Transports;

/// <summary>
/// The byte connection under a <see cref="PipeFrameTransport"/>: a stream, a socket or a duplex pipe, seen
/// through the few operations the transport's reader and writer loops need.
/// </summary>
/// <remarks>
/// Ownership: <see cref="Input"/> and <see cref="CompleteInput"/> belong to the reader loop; <see cref="WriteAsync"/>,
/// <see cref="CloseSendAsync"/> and <see cref="CompleteOutput"/> to the writer loop (neither a pipe reader nor a
/// pipe writer may be used from two threads). Only <see cref="Abort"/> may be called from any thread: it is how
/// a blocked read or write is broken off when the transport is disposed or fails.
/// </remarks>
internal abstract class TransportConnection(bool leaveOpen)
{
    private int _closedByUs;

    /// <summary>True when the caller keeps ownership: nothing is closed, disposed or completed by us.</summary>
    protected bool LeaveOpen { get; } = leaveOpen;

    /// <summary>The bytes read from the peer.</summary>
    public abstract PipeReader Input { get; }

    /// <summary>
    /// True once we closed the connection ourselves, so that a read that fails afterwards is recognised as the
    /// consequence of our own close and not reported as the peer's failure.
    /// </summary>
    public bool ClosedByUs => Volatile.Read(ref _closedByUs) != 0;

    /// <summary>Writes <paramref name="bytes"/> and pushes them to the peer (flush).</summary>
    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>Closes the sending direction after the last write, so that the peer reads end of stream.</summary>
    public abstract ValueTask CloseSendAsync();

    /// <summary>Releases the reading side; called once by the reader loop when it ends.</summary>
    public abstract void CompleteInput();

    /// <summary>Releases the writing side; called once by the writer loop when it ends.</summary>
    public virtual void CompleteOutput()
    {
    }

    /// <summary>Closes the whole connection at once (unless left open), breaking off pending reads and writes.
    /// Thread-safe and idempotent.</summary>
    public abstract void Abort();

    /// <summary>Records that we are closing the connection; returns false if it was already recorded.</summary>
    protected bool MarkClosedByUs() => Interlocked.Exchange(ref _closedByUs, 1) == 0;
}
