using System.IO.Pipelines;

namespace Muxado.Reactive.Transports;

/// <summary>A <see cref="TransportConnection"/> over an <see cref="IDuplexPipe"/>.</summary>
/// <remarks>
/// Completing the pipe's writer is the half-close; completing its reader tells the other end that nobody reads
/// any more. Pending reads and writes are broken off through their cancellation tokens, not with
/// <c>CancelPendingRead</c>/<c>CancelPendingFlush</c>, because those would also cancel the next operation of a
/// caller who keeps the pipe (<see cref="FrameTransportOptions.LeaveOpen"/>).
/// </remarks>
internal sealed class DuplexPipeConnection(IDuplexPipe pipe, bool leaveOpen) : TransportConnection(leaveOpen)
{
    private bool _outputCompleted;

    /// <inheritdoc />
    public override PipeReader Input => pipe.Input;

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        FlushResult result = await pipe.Output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The pipe's pending flush was cancelled.");
        }
        if (result.IsCompleted)
        {
            // The other end completed its reader: like a reset socket, nothing we write will be read.
            throw new IOException("the pipe's reader has completed: the peer reads no more");
        }
    }

    /// <inheritdoc />
    public override async ValueTask CloseSendAsync()
    {
        if (!LeaveOpen && !_outputCompleted)
        {
            _outputCompleted = true;
            await pipe.Output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override void CompleteInput()
    {
        if (!LeaveOpen)
        {
            pipe.Input.Complete();
        }
    }

    /// <inheritdoc />
    public override void CompleteOutput()
    {
        if (!LeaveOpen && !_outputCompleted)
        {
            _outputCompleted = true;
            pipe.Output.Complete();
        }
    }

    /// <inheritdoc />
    public override void Abort() => MarkClosedByUs();
}
