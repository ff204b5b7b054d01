using System.IO.Pipelines;

namespace Muxado.Reactive.Transports;

/// <summary>A <see cref="TransportConnection"/> over a <see cref="Stream"/>.</summary>
/// <remarks>
/// A <see cref="Stream"/> has no half-close, so closing the sending direction disposes the whole stream (unless
/// left open); a later read failure is then ours, not the peer's (see <see cref="TransportConnection.ClosedByUs"/>).
/// Reads go through a <see cref="PipeReader"/> over the stream, which never closes the stream itself: the
/// stream's lifetime is decided here alone.
/// </remarks>
internal class StreamConnection : TransportConnection
{
    private readonly Stream _stream;

    /// <summary>Wraps <paramref name="stream"/>; <paramref name="zeroByteReads"/> only for streams that support them
    /// (they let an idle transport wait without holding a read buffer).</summary>
    public StreamConnection(Stream stream, bool leaveOpen, int readBufferSize, bool zeroByteReads = false)
        : base(leaveOpen)
    {
        _stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(
            bufferSize: readBufferSize, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: zeroByteReads));
    }

    /// <inheritdoc />
    public override PipeReader Input { get; }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override ValueTask CloseSendAsync()
    {
        Abort();
        return default;
    }

    /// <inheritdoc />
    public override void CompleteInput() => Input.Complete();

    /// <inheritdoc />
    public override void Abort()
    {
        if (LeaveOpen || !MarkClosedByUs())
        {
            return;
        }
        try
        {
            _stream.Dispose();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            // A stream that fails to flush while being disposed has lost its peer anyway; we are closing it.
        }
    }
}
