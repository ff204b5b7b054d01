using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Runtime.CompilerServices;

namespace Muxado.Reactive;

public sealed partial class MuxStream
{
    // Receive state; all of it guarded by the session lock.
    private ReceiveQueue? _received; // created with the first data: idle streams stay small
    private bool _remoteFin;
    private bool _localClosed;
    private MuxadoStreamException? _resetError;
    private Exception? _readError;
    private IChunkConsumer? _consumer;
    private bool _drainScheduled;
    private Action? _drain; // cached: a drain is scheduled for every burst of data
    private bool _pullActive;
    private TaskCompletionSource<bool>? _dataWaiter;

    /// <summary>
    /// The bytes the peer sends, in order. Completes on the peer's FIN (or after <see cref="DisposeAsync"/>),
    /// fails with <see cref="MuxadoStreamException"/> on reset and <see cref="MuxadoSessionException"/> when the
    /// session fails (after the data that arrived before).
    /// </summary>
    /// <remarks>
    /// <para>One subscriber at a time. Credit for a chunk returns to the peer when the subscriber's
    /// <c>OnNext</c> for it returns, so a slow subscriber slows only its sender, and buffered data never
    /// exceeds the window. Unsubscribing leaves unread data buffered for the next reader.</para>
    /// <para>An <c>OnNext</c> that throws resets the stream with <see cref="ErrorCode.InternalError"/>;
    /// the session and other streams go on.</para>
    /// <code>
    /// peer writes:  "ab"  "cd"  FIN
    /// Received:     -a----b-----|      (one OnNext per DATA frame; credit after each OnNext returns)
    /// </code>
    /// </remarks>
    public IObservable<ReadOnlyMemory<byte>> Received =>
        Observable.Create<ReadOnlyMemory<byte>>(observer => Attach(new AutoCreditConsumer(observer)));

    /// <summary>
    /// The bytes the peer sends, each chunk holding its flow-control credit until
    /// <see cref="CreditedChunk.Release"/> is called, so that backpressure survives an <c>ObserveOn</c> or
    /// asynchronous processing. Unreleased chunks count against the window: release every one.
    /// </summary>
    /// <remarks>
    /// <code>
    /// peer writes:        "ab" "cd" "ef"   (window 4 bytes)
    /// ReceivedWithCredit: -a----b---------c----   (the peer's "ef" waits until a and b are released)
    /// </code>
    /// </remarks>
    public IObservable<CreditedChunk> ReceivedWithCredit() =>
        Observable.Create<CreditedChunk>(observer => Attach(new ManualCreditConsumer(this, observer)));

    /// <summary>
    /// The bytes the peer sends as an async sequence; credit for a chunk returns when the consumer asks
    /// for the next one, or leaves the loop. Ends on FIN; throws on reset or session failure.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var chunk = await ReadChunkAsync(int.MaxValue, cancellationToken).ConfigureAwait(false);
            if (chunk is not { } data)
            {
                yield break;
            }
            try
            {
                yield return data;
            }
            finally
            {
                // Also when the consumer leaves the loop (break, exception): the chunk was taken from the
                // stream, so its credit must go back or the peer's window shrinks for good.
                ReportConsumed(data.Length);
            }
        }
    }

    private IDisposable Attach(IChunkConsumer consumer)
    {
        lock (Gate)
        {
            if (_consumer is not null || _pullActive)
            {
                throw new InvalidOperationException($"Stream {Id} already has a reader; a stream is read by one consumer at a time.");
            }
            _consumer = consumer;
            SignalReaderLocked();
        }
        return Disposable.Create(() =>
        {
            lock (Gate)
            {
                if (ReferenceEquals(_consumer, consumer))
                {
                    _consumer = null;
                }
            }
        });
    }

    /// <summary>Wakes whoever reads: schedules the drain of an observer, or completes a pull waiter. Under the lock.</summary>
    private void SignalReaderLocked()
    {
        if (_consumer is not null && !_drainScheduled)
        {
            _drainScheduled = true;
            _session.Scheduler.Schedule(_drain ??= Drain);
        }
        if (_dataWaiter is { } waiter)
        {
            _dataWaiter = null;
            _session.CompleteLater(waiter, true);
        }
    }

    private bool HasDataLocked => _received is { HasData: true };

    private ReadOnlyMemory<byte> TakeLocked(int max) => _received!.Take(max);

    /// <summary>The reader's end, once no data is left: null while the stream is still open.</summary>
    private (bool Ended, Exception? Error) TerminalLocked() =>
        _resetError is not null ? (true, _resetError)
        : _remoteFin || _localClosed ? (true, null)
        : _readError is not null ? (true, _readError)
        : (false, null);

    /// <summary>Delivers buffered chunks to the observer, outside the lock, until none is left.</summary>
    private void Drain()
    {
        int consumed = 0;
        while (true)
        {
            IChunkConsumer consumer;
            ReadOnlyMemory<byte> chunk;
            (bool Ended, Exception? Error) end = default;
            lock (Gate)
            {
                if (consumed > 0)
                {
                    _session.Core.Consumed(Id, consumed);
                    consumed = 0;
                }
                if (_consumer is null)
                {
                    _drainScheduled = false;
                    return;
                }
                consumer = _consumer;
                if (_resetError is null && HasDataLocked)
                {
                    chunk = TakeLocked(int.MaxValue);
                }
                else
                {
                    chunk = default;
                    end = TerminalLocked();
                    _drainScheduled = false;
                    if (!end.Ended)
                    {
                        return;
                    }
                    _consumer = null;
                }
            }
            if (end.Ended)
            {
                try
                {
                    consumer.OnEnd(end.Error);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // A subscriber with no error handler rethrows (Rx's default); on a scheduler thread that would
                    // end the process because the peer reset a stream. The stream is over either way.
                }
                return;
            }
            if (!Deliver(consumer, chunk))
            {
                return;
            }
            if (consumer.AutoCredit)
            {
                consumed = chunk.Length;
            }
        }
    }

    private bool Deliver(IChunkConsumer consumer, ReadOnlyMemory<byte> chunk)
    {
        try
        {
            consumer.OnNext(chunk);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An observer that throws is contained: its stream is reset, the session goes on. Rx forbids
            // calling it again, so it hears nothing more.
            lock (Gate)
            {
                _consumer = null;
                _drainScheduled = false;
                _session.Core.Reset(Id, ErrorCode.InternalError);
                AbortLocked(new MuxadoStreamException(Id, ErrorCode.InternalError, byPeer: false));
            }
            return false;
        }
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> buffered bytes, waiting for some; null at the end of the stream.
    /// The caller reports the bytes consumed with <see cref="ReportConsumed"/>.
    /// </summary>
    internal async ValueTask<ReadOnlyMemory<byte>?> ReadChunkAsync(int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource<bool> waiter;
            lock (Gate)
            {
                if (_consumer is not null)
                {
                    throw new InvalidOperationException($"Stream {Id} is being observed; a stream is read by one consumer at a time.");
                }
                if (_resetError is null && HasDataLocked)
                {
                    return TakeLocked(max);
                }
                var (ended, error) = TerminalLocked();
                if (ended)
                {
                    return error is null ? null : throw error;
                }
                waiter = _dataWaiter ??= new TaskCompletionSource<bool>();
                _pullActive = true;
            }
            try
            {
                await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (Gate)
                {
                    _pullActive = false;
                }
            }
        }
    }

    /// <summary>Returns credit for bytes the application has consumed.</summary>
    internal void ReportConsumed(int count)
    {
        if (count <= 0)
        {
            return;
        }
        lock (Gate)
        {
            _session.Core.Consumed(Id, count);
        }
    }
}
