using System.Reactive.Disposables;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// A muxado transport seen as frames: <see cref="Inbound"/> yields the frames read from the wire,
/// <see cref="Outbound"/> takes the frames to write.
/// </summary>
/// <remarks>
/// <para><b>Inbound</b> allows one subscription. Frames arrive one at a time, in wire order, on the
/// transport's reader. It completes on a clean end of stream at a frame boundary and fails with a
/// <see cref="MuxadoException"/> when the peer sends a malformed frame (<see cref="MuxadoFrameException"/>),
/// when the transport ends in the middle of a frame (<see cref="ErrorCode.PeerEOF"/>), or when
/// reading or writing the transport fails. Disposing the subscription stops reading.</para>
/// <para><b>Outbound</b> may be called from many threads at once; each frame is serialised (its payload
/// copied) before <c>OnNext</c> returns, so the caller may reuse its buffer at once. Frames are
/// coalesced into few writes to the operating system. <c>OnCompleted</c> writes what is queued and then
/// closes the sending direction; <c>OnError</c> aborts the transport.</para>
/// <para>Implementations with a write queue report its size through <see cref="PendingWriteBytes"/>,
/// so that a session can hold back DATA while the peer is not reading.</para>
/// </remarks>
public abstract class FrameTransport : IAsyncDisposable
{
    /// <summary>The frames read from the wire.</summary>
    public abstract IObservable<Frame> Inbound { get; }

    /// <summary>The frames to write to the wire.</summary>
    public abstract IObserver<Frame> Outbound { get; }

    /// <summary>Bytes accepted by <see cref="Outbound"/> and not yet written to the wire.</summary>
    public virtual long PendingWriteBytes => 0;

    /// <summary>
    /// Completes when <see cref="PendingWriteBytes"/> is at most <paramref name="threshold"/>
    /// (or the transport has closed).
    /// </summary>
    public virtual ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) => default;

    /// <summary>Closes the transport: stops reading, drops what is not yet written, releases the connection.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return default;
    }

    /// <summary>
    /// Wraps a pair supplied by the caller (a WebSocket adapter, a recorded capture, a marble-test
    /// observable). The observer must follow the <see cref="Outbound"/> contract above: it is called
    /// from the session's serialised section and must not block or call back into the session.
    /// </summary>
    public static FrameTransport Create(IObservable<Frame> inbound, IObserver<Frame> outbound, IDisposable? connection = null)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        ArgumentNullException.ThrowIfNull(outbound);
        return new DelegatingFrameTransport(inbound, outbound, connection ?? Disposable.Empty);
    }

    private sealed class DelegatingFrameTransport(IObservable<Frame> inbound, IObserver<Frame> outbound, IDisposable connection) : FrameTransport
    {
        public override IObservable<Frame> Inbound => inbound;
        public override IObserver<Frame> Outbound => outbound;

        public override ValueTask DisposeAsync()
        {
            connection.Dispose();
            return base.DisposeAsync();
        }
    }
}
