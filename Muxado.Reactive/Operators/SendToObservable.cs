using System.Reactive.Disposables;
using System.Reactive.Linq;

namespace Muxado.Reactive;

/// <summary>Sends an Rx sequence of byte chunks into a <see cref="MuxStream"/>, respecting the peer's window.</summary>
public static class SendToObservable
{
    /// <summary>
    /// Writes every chunk of <paramref name="source"/> to <paramref name="stream"/> in order, waiting for the
    /// peer's window, and half-closes the stream when the source completes. Yields the running total of
    /// bytes written; completes after the FIN.
    /// </summary>
    /// <param name="source">The chunks. They are not copied: a chunk must stay unchanged once emitted (DESIGN.md, "ownership").</param>
    /// <param name="stream">The stream to write.</param>
    /// <param name="maxBufferedBytes">Policy for a source that outruns the peer: chunks wait in a queue of at most
    /// this many bytes (default: 1 MiB); beyond, the result fails with <see cref="InvalidOperationException"/> and the
    /// stream is reset with <see cref="ErrorCode.StreamCancelled"/>. Rx has no way to slow a hot source down.</param>
    /// <param name="closeWriteOnCompleted">Send FIN when the source completes (default true).</param>
    /// <remarks>
    /// <code>
    /// source:  -a-b-c-|            (peer window full after b)
    /// stream:  -a-b------c-FIN     (c waits for WNDINC)
    /// result:  -1-2------3-|       (bytes written so far)
    /// </code>
    /// A source error resets the stream with <see cref="ErrorCode.StreamCancelled"/> and is passed on.
    /// Unsubscribing stops writing and resets the stream if the FIN was not sent.
    /// </remarks>
    public static IObservable<long> SendTo(this IObservable<ReadOnlyMemory<byte>> source, MuxStream stream,
        long maxBufferedBytes = 1024 * 1024, bool closeWriteOnCompleted = true)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBufferedBytes);
        return new SendToStream(source, stream, maxBufferedBytes, closeWriteOnCompleted);
    }

    /// <summary>
    /// Subscribing starts a pump. Not <c>Observable.Create</c>: its wrapper disposes the subscription when the result
    /// observer throws, before the pump hears of it, and the stream would be reset as if unsubscribed.
    /// </summary>
    private sealed class SendToStream(IObservable<ReadOnlyMemory<byte>> source, MuxStream stream, long maxBufferedBytes, bool closeWrite) : IObservable<long>
    {
        public IDisposable Subscribe(IObserver<long> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            // The pump reports from the thread where window arrives and an overflow from the source's thread:
            // the result observer is serialised so the Rx grammar holds (one call at a time, nothing after the end).
            var pump = new SendPump(stream, new SerialObserver<long>(observer), maxBufferedBytes, closeWrite);
            var subscription = source.Subscribe(pump.Enqueue, pump.Fail, pump.Complete);
            return new CompositeDisposable(subscription, pump);
        }
    }

    /// <summary>The queue between a source that pushes and a stream that waits for window.</summary>
    private sealed class SendPump(MuxStream stream, IObserver<long> observer, long maxBufferedBytes, bool closeWrite) : IDisposable
    {
        private readonly object _gate = new();
        private readonly Queue<ReadOnlyMemory<byte>> _queue = new();
        private readonly CancellationTokenSource _cancel = new();
        private long _queuedBytes;
        private long _written;
        private bool _pumping;
        private bool _sourceDone;
        private bool _finished;

        public void Enqueue(ReadOnlyMemory<byte> chunk)
        {
            lock (_gate)
            {
                if (_finished)
                {
                    return;
                }
                // Only chunks that wait behind a write in progress count: an idle pump takes this one at once
                // (its queue is empty), so even a chunk larger than the bound is not buffered.
                if (_pumping && _queuedBytes + chunk.Length > maxBufferedBytes)
                {
                    FinishLocked();
                }
                else
                {
                    _queue.Enqueue(chunk);
                    _queuedBytes += chunk.Length;
                    StartLocked();
                    return;
                }
            }
            stream.Reset(ErrorCode.StreamCancelled);
            observer.OnError(new InvalidOperationException(
                $"SendTo: the source outran stream {stream.Id}: more than {maxBufferedBytes} bytes waited for the peer's window."));
        }

        public void Complete()
        {
            lock (_gate)
            {
                _sourceDone = true;
                StartLocked();
            }
        }

        public void Fail(Exception error)
        {
            lock (_gate)
            {
                if (_finished)
                {
                    return;
                }
                FinishLocked();
            }
            stream.Reset(ErrorCode.StreamCancelled);
            observer.OnError(error);
        }

        private void StartLocked()
        {
            if (!_pumping && !_finished)
            {
                _pumping = true;
                _ = PumpAsync();
            }
        }

        private void FinishLocked()
        {
            _finished = true;
            _queue.Clear();
            _cancel.Cancel();
        }

        private async Task PumpAsync()
        {
            try
            {
                while (true)
                {
                    ReadOnlyMemory<byte> chunk;
                    lock (_gate)
                    {
                        if (_finished)
                        {
                            return;
                        }
                        if (_queue.Count == 0)
                        {
                            if (!_sourceDone)
                            {
                                _pumping = false;
                                return;
                            }
                            _finished = true;
                            break;
                        }
                        chunk = _queue.Dequeue();
                        _queuedBytes -= chunk.Length;
                    }
                    await stream.WriteAsync(chunk, _cancel.Token).ConfigureAwait(false);
                    observer.OnNext(_written += chunk.Length);
                }
                if (closeWrite)
                {
                    await stream.CloseWriteAsync().ConfigureAwait(false);
                }
                observer.OnCompleted();
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                // Disposed or failed elsewhere: whoever cancelled reports.
            }
            catch (ObserverFailedException)
            {
                // The result observer threw: like any throwing observer of a stream, it costs the stream a reset.
                lock (_gate)
                {
                    FinishLocked();
                }
                stream.Reset(ErrorCode.InternalError);
            }
            catch (Exception ex)
            {
                // Every other failure (a reset, the session's end, a write after close) goes to the subscriber: this
                // task is not awaited by anyone, so an exception left in it would vanish.
                lock (_gate)
                {
                    FinishLocked();
                }
                observer.OnError(ex);
            }
        }

        public void Dispose()
        {
            bool resetNeeded;
            lock (_gate)
            {
                resetNeeded = !_finished;
                FinishLocked();
            }
            if (resetNeeded)
            {
                stream.Reset(ErrorCode.StreamCancelled);
            }
        }
    }

    /// <summary>
    /// Calls an observer one call at a time and never after its end. An observer that throws is done: it hears nothing
    /// more, and its exception comes out as <see cref="ObserverFailedException"/> so that the pump can tell it from a
    /// failed write.
    /// </summary>
    private sealed class SerialObserver<T>(IObserver<T> inner) : IObserver<T>
    {
        private readonly object _gate = new();
        private bool _done;

        public void OnNext(T value) => Call(() => inner.OnNext(value), ends: false);

        public void OnError(Exception error) => Call(() => inner.OnError(error), ends: true);

        public void OnCompleted() => Call(inner.OnCompleted, ends: true);

        private void Call(Action call, bool ends)
        {
            lock (_gate)
            {
                if (_done)
                {
                    return;
                }
                _done = ends;
                try
                {
                    call();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _done = true;
                    if (!ends)
                    {
                        throw new ObserverFailedException(ex);
                    }
                    // A terminal notification that throws: the observer is done either way.
                }
            }
        }
    }

    /// <summary>The result observer threw from <c>OnNext</c>.</summary>
    private sealed class ObserverFailedException(Exception inner) : Exception("the SendTo observer threw", inner);
}
