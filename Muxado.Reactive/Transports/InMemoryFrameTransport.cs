using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// One end of the pair made by <see cref="FrameTransport.CreateInMemoryPair"/>: it sends on one
/// <see cref="InMemoryFrameChannel"/> and receives on the other.
/// </summary>
/// <remarks>
/// <para><c>Outbound.OnCompleted</c> is a half-close: the peer's Inbound completes after the frames already sent,
/// and this end can still receive. <c>Outbound.OnError</c> is an abort: the peer's Inbound fails with
/// <see cref="ErrorCode.PeerEOF"/> after the frames already sent, and this end's Inbound completes at once.
/// <see cref="DisposeAsync"/> is a close: the peer's Inbound completes after the frames already sent (as after
/// a TCP FIN), and this end's Inbound completes at once, dropping what it had not yet delivered.</para>
/// <para>A frame counts as written when it is queued, so the frames sent before a close or an abort still
/// arrive. <see cref="PendingWriteBytes"/> counts the wire bytes queued and not yet delivered to the peer.</para>
/// </remarks>
internal sealed class InMemoryFrameTransport : FrameTransport, IObservable<Frame>, IObserver<Frame>
{
    private readonly InMemoryFrameChannel _incoming;
    private readonly InMemoryFrameChannel _outgoing;

    /// <summary>Receives from <paramref name="incoming"/> and sends on <paramref name="outgoing"/>.</summary>
    public InMemoryFrameTransport(InMemoryFrameChannel incoming, InMemoryFrameChannel outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
        // An observer that throws closes this end, so the peer sees end of stream instead of silence.
        incoming.ObserverFaulted = Close;
    }

    /// <inheritdoc />
    public override IObservable<Frame> Inbound => this;

    /// <inheritdoc />
    public override IObserver<Frame> Outbound => this;

    /// <inheritdoc />
    public override long PendingWriteBytes => _outgoing.PendingBytes;

    /// <inheritdoc />
    public override long BytesWritten => _outgoing.BytesDelivered;

    /// <inheritdoc />
    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
        _outgoing.Waiters.WaitAsync(threshold, cancellationToken);

    internal override bool IsQueueingWriter => true;

    internal override long BytesEnqueued => _outgoing.BytesEnqueued;

    internal override ValueTask WaitForWrittenAsync(long position) => _outgoing.Waiters.WaitForWrittenAsync(position);

    internal override bool WatchWriteSpace(long threshold, Action callback) => _outgoing.Waiters.Watch(threshold, callback);

    /// <summary>Subscribes to the frames the peer sends; a second subscription throws.</summary>
    public IDisposable Subscribe(IObserver<Frame> observer) => _incoming.Subscribe(observer);

    /// <summary>Queues a copy of the frame for the peer.</summary>
    public void OnNext(Frame value) => _outgoing.Send(value);

    /// <summary>Half-closes: the peer's Inbound completes after the frames already sent.</summary>
    public void OnCompleted() => _outgoing.Complete();

    /// <summary>Aborts: the peer's Inbound fails with <see cref="ErrorCode.PeerEOF"/>, this end's completes.</summary>
    public void OnError(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _outgoing.Fail(new MuxadoException(ErrorCode.PeerEOF, "the peer aborted the transport: " + error.Message));
        _incoming.CloseReceiver();
        _outgoing.Waiters.ReleaseAll();
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        Close();
        return base.DisposeAsync();
    }

    private void Close()
    {
        _outgoing.Complete();
        _incoming.CloseReceiver();
        _outgoing.Waiters.ReleaseAll();
    }
}
