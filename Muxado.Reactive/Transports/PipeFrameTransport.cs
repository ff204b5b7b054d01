using System.Net.Sockets;
using System.Reactive.Disposables;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// The transport behind <see cref="FrameTransport.FromStream"/>, <see cref="FrameTransport.FromPipe"/> and
/// <see cref="FrameTransport.FromSocket"/>: one reader loop (<see cref="FrameReadLoop"/>) and one writer loop
/// (<see cref="CoalescingFrameWriter"/>) over a <see cref="TransportConnection"/>.
/// </summary>
/// <remarks>
/// <para>Every notification to the <see cref="Inbound"/> observer comes from the reader loop, so they are
/// serial even when the cause is elsewhere: a write failure or a dispose cancels the reader, and the reader, on
/// its way out, tells the observer why it stopped.</para>
/// <para>How Inbound ends: end of stream at a frame boundary → <c>OnCompleted</c>; a malformed frame → <c>OnError</c>
/// with the <see cref="MuxadoFrameException"/>; end of stream inside a frame → <c>OnError</c>
/// (<see cref="ErrorCode.PeerEOF"/>); a failed read → <c>OnError</c> ("read from transport failed", the failure
/// inside); a failed write → <c>OnError</c> ("write to transport failed"); a close of our own (<see cref="DisposeAsync"/>,
/// <c>Outbound.OnError</c>, or <c>Outbound.OnCompleted</c> on a stream, which has no half-close) → <c>OnCompleted</c>.
/// A failed read or write is <see cref="ErrorCode.PeerEOF"/> when the connection broke (an <see cref="IOException"/>,
/// <see cref="SocketException"/> or <see cref="ObjectDisposedException"/>), <see cref="ErrorCode.InternalError"/> otherwise.
/// Disposing the subscription stops the reader without a notification.</para>
/// <para>If the observer's <c>OnNext</c> throws, the Rx grammar forbids telling it anything more: the reader
/// stops and the whole transport is closed, so that the failure shows as a closed connection on both sides
/// instead of a reader that silently stopped.</para>
/// </remarks>
internal sealed class PipeFrameTransport : FrameTransport, IObservable<Frame>, IObserver<Frame>
{
    private readonly object _gate = new();
    private readonly TransportConnection _connection;
    private readonly FrameReaderLimits _limits;
    private readonly CoalescingFrameWriter _writer;
    private readonly CancellationTokenSource _stopReading = new();
    private IObserver<Frame>? _observer;
    private bool _subscribed;
    private Task _readLoop = Task.CompletedTask;
    private bool _readerStarted;
    private Exception? _writeFailure;
    private bool _closing;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _readerThread;

    /// <summary>Starts the writer loop over <paramref name="connection"/>; the reader starts on subscription.</summary>
    public PipeFrameTransport(TransportConnection connection, FrameTransportOptions options)
    {
        _connection = connection;
        _limits = options.ReaderLimits;
        _writer = new CoalescingFrameWriter(connection, options, OnWriteFailed);
    }

    /// <inheritdoc />
    public override IObservable<Frame> Inbound => this;

    /// <inheritdoc />
    public override IObserver<Frame> Outbound => this;

    /// <inheritdoc />
    public override long PendingWriteBytes => _writer.PendingBytes;

    /// <inheritdoc />
    public override long BytesWritten => _writer.BytesWritten;

    /// <inheritdoc />
    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
        _writer.Waiters.WaitAsync(threshold, cancellationToken);

    internal override bool IsQueueingWriter => true;

    internal override long BytesEnqueued => _writer.BytesEnqueued;

    internal override ValueTask WaitForWrittenAsync(long position) => _writer.Waiters.WaitForWrittenAsync(position);

    internal override bool WatchWriteSpace(long threshold, Action callback) => _writer.Waiters.Watch(threshold, callback);

    /// <summary>Starts the reader loop; a second subscription throws.</summary>
    public IDisposable Subscribe(IObserver<Frame> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            if (_subscribed)
            {
                throw new InvalidOperationException("A transport's Inbound allows one subscription.");
            }
            _subscribed = true;
            if (_closing)
            {
                // Closed before anyone read: Inbound ends as it does after any close of our own.
                _ = Task.Run(observer.OnCompleted);
                return Disposable.Empty;
            }
            _observer = observer;
            _readerStarted = true;
            // Task.Run: the first frames must not be delivered inside Subscribe, before the caller holds the subscription.
            _readLoop = Task.Run(() => ReadLoopAsync(observer));
        }
        return new Subscription(this, observer);
    }

    /// <summary>Encodes the frame into the write queue (its payload is copied before this returns).</summary>
    public void OnNext(Frame value) => _writer.Enqueue(value);

    /// <summary>Writes what is queued, then closes the sending direction.</summary>
    public void OnCompleted() => _writer.Complete();

    /// <summary>Aborts the transport: drops unwritten frames and closes the connection.</summary>
    public void OnError(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _ = DisposeAsync().AsTask();
    }

    /// <summary>
    /// Closes the transport. The reader and writer are stopped and the connection closed before this returns,
    /// so no frame is accepted or written afterwards, and none is delivered except one already being delivered;
    /// the returned task completes when both loops have ended. Idempotent, and safe to call from anywhere,
    /// including from the Inbound observer (then it does not wait for the reader loop, which is its caller).
    /// </summary>
    public override ValueTask DisposeAsync()
    {
        bool first;
        bool readerStarted;
        Task readLoop;
        lock (_gate)
        {
            first = !_closing;
            _closing = true;
            // Stable from here on: Subscribe sees _closing and starts no reader.
            readerStarted = _readerStarted;
            readLoop = _readLoop;
        }
        if (first)
        {
            // Outside the lock: cancelling runs the callbacks of pending reads and writes. The connection is
            // closed before the reader is stopped, so that an observer told of the end finds it closed.
            _writer.Stop();
            _connection.Abort();
            _stopReading.Cancel();
            _ = FinishClosingAsync(readerStarted, readLoop);
            GC.SuppressFinalize(this);
        }
        // On the reader loop, waiting for that loop would wait for ourselves.
        return IsOnReaderLoop ? default : new ValueTask(_closed.Task);
    }

    private bool IsOnReaderLoop => Volatile.Read(ref _readerThread) == Environment.CurrentManagedThreadId;

    private async Task FinishClosingAsync(bool readerStarted, Task readLoop)
    {
        try
        {
            await _writer.Completion.ConfigureAwait(false);
            if (readerStarted)
            {
                await readLoop.ConfigureAwait(false);
            }
            else
            {
                // No reader loop will ever run to release the input.
                _connection.CompleteInput();
            }
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    private void Unsubscribe(IObserver<Frame> observer)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_observer, observer))
            {
                return;
            }
            _observer = null;
        }
        _stopReading.Cancel();
    }

    private void OnWriteFailed(Exception failure)
    {
        var error = new MuxadoException(CodeFor(failure), "write to transport failed: " + failure.Message, failure);
        lock (_gate)
        {
            _writeFailure = error;
        }
        // Closing the connection makes the peer see the failure too. It comes before stopping the reader, which
        // reports the failure, so that whoever hears of it finds the connection already closed.
        _connection.Abort();
        _stopReading.Cancel();
    }

    /// <summary>A broken connection means the peer is gone; anything else is a fault on our side.</summary>
    private static ErrorCode CodeFor(Exception failure) =>
        failure is IOException or SocketException or ObjectDisposedException ? ErrorCode.PeerEOF : ErrorCode.InternalError;

    private async Task ReadLoopAsync(IObserver<Frame> observer)
    {
        bool endOfStream = false;
        Exception? error = null;
        var loop = new FrameReadLoop(_connection.Input, _limits, Deliver);
        try
        {
            endOfStream = await loop.RunAsync(_stopReading.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopReading.IsCancellationRequested)
        {
            // Stopped by us; Finish finds out why.
        }
        catch (MuxadoException ex)
        {
            error = ex;
        }
        catch (Exception ex)
        {
            error = new MuxadoException(CodeFor(ex), "read from transport failed: " + ex.Message, ex);
        }
        finally
        {
            _connection.CompleteInput();
        }
        Finish(observer, endOfStream, error);
    }

    /// <summary>Delivers one frame; false stops the reader.</summary>
    private bool Deliver(Frame frame)
    {
        var observer = Volatile.Read(ref _observer);
        if (observer is null || _stopReading.IsCancellationRequested)
        {
            return false;
        }
        Volatile.Write(ref _readerThread, Environment.CurrentManagedThreadId);
        try
        {
            observer.OnNext(frame);
            return true;
        }
        catch (Exception)
        {
            lock (_gate)
            {
                _observer = null;
            }
            _ = DisposeAsync().AsTask();
            return false;
        }
        finally
        {
            Volatile.Write(ref _readerThread, 0);
        }
    }

    /// <summary>Sends the one terminal notification, chosen by what stopped the reader.</summary>
    private void Finish(IObserver<Frame> observer, bool endOfStream, Exception? error)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_observer, observer))
            {
                return; // unsubscribed, or the observer threw
            }
            _observer = null;
            if (error is not MuxadoFrameException)
            {
                // Cancelled, a failed read, an end mid-frame, or even an end of stream (reading from a connection
                // we aborted may look like one): a write failure explains it, and a close of our own makes a
                // failed read no error at all.
                error = _writeFailure ?? (!endOfStream && (_closing || _connection.ClosedByUs) ? null : error);
            }
        }
        Volatile.Write(ref _readerThread, Environment.CurrentManagedThreadId);
        try
        {
            observer.End(error);
        }
        catch (Exception)
        {
            // Nothing more can be told to this observer; as when OnNext throws, close the whole transport so the
            // fault shows as a closed connection rather than vanishing into the reader loop's task.
            _ = DisposeAsync().AsTask();
        }
        finally
        {
            Volatile.Write(ref _readerThread, 0);
        }
    }

    /// <summary>Stops the reader for <paramref name="observer"/> when disposed (a plain object: an idle transport holds it).</summary>
    private sealed class Subscription(PipeFrameTransport transport, IObserver<Frame> observer) : IDisposable
    {
        public void Dispose() => transport.Unsubscribe(observer);
    }
}
