using System.Runtime.CompilerServices;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

public sealed partial class MuxStream
{
    // Receive state; all of it guarded by the session lock.
    private ReceiveQueue? _received; // created with the first data: idle streams stay small
    private bool _remoteFin;
    private bool _localClosed;
    private MuxadoStreamException? _resetError;
    private Exception? _readError;
    private ChunkDrain? _drain; // created with the first observer
    private bool _pullActive;
    private Waiter<bool>? _dataWaiter;

    /// <summary>
    /// The bytes the peer sends, in order. Completes on the peer's FIN (or after <see cref="DisposeAsync"/>),
    /// fails with <see cref="MuxadoStreamException"/> on reset and <see cref="MuxadoSessionException"/> when the
    /// session fails (after the data that arrived before).
    /// </summary>
    /// <remarks>
    /// <para>Cold, one subscriber at a time: a second subscriber while one is attached gets <c>OnError</c> with an
    /// <see cref="InvalidOperationException"/>. Credit for a chunk returns to the peer when the subscriber's
    /// <c>OnNext</c> for it returns, so a slow subscriber slows only its sender, and buffered data never exceeds the
    /// window. Unsubscribing leaves every chunk not yet handed out buffered for the next reader; an unsubscription from
    /// another thread waits for an <c>OnNext</c> already running (see <see cref="MuxSession"/>'s remarks on delivery).</para>
    /// <para>Delivered on the session's scheduler, at most 64 chunks per turn before other streams get theirs. An
    /// <c>OnNext</c> that throws resets the stream with <see cref="ErrorCode.InternalError"/>; the session and other
    /// streams go on.</para>
    /// <code>
    /// peer writes:  "ab"  "cd"  FIN
    /// Received:     -a----b-----|      (one OnNext per DATA frame; credit after each OnNext returns)
    /// </code>
    /// </remarks>
    public IObservable<ReadOnlyMemory<byte>> Received => new ReceivedObservable(this);

    /// <summary>
    /// The bytes the peer sends, each chunk holding its flow-control credit until
    /// <see cref="CreditedChunk.Release"/> is called, so that backpressure survives an <c>ObserveOn</c> or
    /// asynchronous processing. Unreleased chunks count against the window: release every one.
    /// </summary>
    /// <remarks>
    /// <para>One subscriber at a time, as <see cref="Received"/>. A chunk handed out and never released keeps its part
    /// of the window for as long as the stream lives; the credit operators (<see cref="FlowControlObservable"/>) give
    /// back the chunks they still hold when unsubscribed, so that a re-subscription reads on from where they left.</para>
    /// <code>
    /// peer writes:        "ab" "cd" "ef"   (window 4 bytes)
    /// ReceivedWithCredit: -a----b---------c----   (the peer's "ef" waits until a and b are released)
    /// </code>
    /// </remarks>
    public IObservable<CreditedChunk> ReceivedWithCredit() => new CreditedObservable(this);

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

        /// <summary>Attaches an observer to this stream's data (a <see cref="CreditingObserver"/> releases credit itself; any other is credited after each OnNext).</summary>
    /// <param name="observer">The reader.</param>
    /// <param name="waitForDelivery">For the library's credit operators: unsubscribing waits for a delivery in progress
    /// (see <see cref="ObserverDrain{T}"/>); their OnNext only enqueues.</param>
    internal ObserverDrain<ReadOnlyMemory<byte>>.Attachment? AttachReader(IObserver<ReadOnlyMemory<byte>> observer, bool waitForDelivery = false)
    {
        ChunkDrain drain;
        using (Lock.Enter())
        {
            if (_pullActive)
            {
                drain = null!;
            }
            else
            {
                drain = _drain ??= new ChunkDrain(this);
            }
        }
        if (drain is null)
        {
            observer.OnError(new InvalidOperationException(ReaderConflict));
            return null;
        }
        return drain.Attach(observer, ReaderConflict, waitForDelivery);
    }

    private string ReaderConflict => $"Stream {Id} already has a reader; a stream is read by one consumer at a time.";

    /// <summary>Wakes whoever reads: signals the observer's drain, or completes a pull waiter. Under the lock.</summary>
    private void SignalReaderLocked()
    {
        _drain?.SignalReaderLocked();
        _dataWaiter?.CompleteLocked(Lock, true);
        _dataWaiter = null;
    }

    private bool HasDataLocked => _received is { HasData: true };

    /// <summary>The reader's end, once no data is left: (false, null) while the stream is still open.</summary>
    private (bool Ended, Exception? Error) TerminalLocked() =>
        _resetError is not null ? (true, _resetError)
        : _remoteFin || _localClosed ? (true, null)
        : _readError is not null ? (true, _readError)
        : (false, null);

    /// <summary>
    /// Takes up to <paramref name="max"/> buffered bytes, waiting for some; null at the end of the stream.
    /// The caller reports the bytes consumed with <see cref="ReportConsumed"/>. With <paramref name="max"/> 0 it only
    /// waits until data is there (returning empty memory) or the stream ended (null).
    /// </summary>
    internal async ValueTask<ReadOnlyMemory<byte>?> ReadChunkAsync(int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryTake(max, blocking: false, out var chunk, out var waiter))
            {
                return chunk;
            }
            try
            {
                await waiter!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                EndWait(waiter!);
            }
        }
    }

    /// <summary>
    /// <see cref="ReadChunkAsync"/> for a caller that blocks its thread (the <see cref="AsStream"/> bridge's <c>Read</c>):
    /// the session wakes it directly, so it needs neither the session's scheduler nor a thread-pool thread.
    /// </summary>
    internal ReadOnlyMemory<byte>? ReadChunk(int max)
    {
        while (true)
        {
            if (TryTake(max, blocking: true, out var chunk, out var waiter))
            {
                return chunk;
            }
            try
            {
                waiter!.Task.GetAwaiter().GetResult();
            }
            finally
            {
                EndWait(waiter!);
            }
        }
    }

    /// <summary>
    /// Takes what a read gets now (<paramref name="chunk"/>: bytes, or null at the end of the stream) and returns true, or
    /// registers <paramref name="waiter"/> and returns false. Throws the stream's error.
    /// </summary>
    private bool TryTake(int max, bool blocking, out ReadOnlyMemory<byte>? chunk, out Waiter<bool>? waiter)
    {
        chunk = null;
        waiter = null;
        using (Lock.Enter())
        {
            if (_drain is { IsObservedLocked: true })
            {
                throw new InvalidOperationException($"Stream {Id} is being observed; a stream is read by one consumer at a time.");
            }
            if (_resetError is null && HasDataLocked)
            {
                chunk = max == 0 ? ReadOnlyMemory<byte>.Empty : _received!.Take(max);
                return true;
            }
            var (ended, error) = TerminalLocked();
            if (ended)
            {
                return error is null ? true : throw error;
            }
            if (_dataWaiter is not null)
            {
                throw new InvalidOperationException($"Stream {Id} already has a pending read; a stream is read by one consumer at a time.");
            }
            waiter = _dataWaiter = Waiter<bool>.Create(_session.Scheduler, blocking);
            _pullActive = true;
            return false;
        }
    }

    private void EndWait(Waiter<bool> waiter)
    {
        using (Lock.Enter())
        {
            _pullActive = false;
            if (ReferenceEquals(_dataWaiter, waiter))
            {
                waiter.AbandonLocked();
                _dataWaiter = null;
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
        using (Lock.Enter())
        {
            _session.Core.Consumed(Id, count);
        }
    }

    /// <summary>
    /// Puts chunks a credit operator took but never handed on back at the head of the unread data, in order, unless
    /// the stream has ended its reading side meanwhile (then they are dropped with the rest). Chunks already released
    /// or taken back are skipped. Under the lock.
    /// </summary>
    internal void ReturnUnreadLocked(IEnumerable<CreditedChunk> chunks)
    {
        var unread = chunks.Where(c => ReferenceEquals(c.Stream, this) && c.TryTakeBack()).Select(c => c.Data).ToList();
        if (unread.Count == 0 || _resetError is not null || _localClosed)
        {
            return;
        }
        (_received ??= new ReceiveQueue()).PushFront(unread);
        SignalReaderLocked();
    }

    /// <summary><see cref="ReturnUnreadLocked"/> from outside the lock.</summary>
    internal void ReturnUnread(IEnumerable<CreditedChunk> chunks)
    {
        using (Lock.Enter())
        {
            ReturnUnreadLocked(chunks);
        }
    }

    /// <summary>Delivers this stream's data to its one observer (the serial-drain mechanism).</summary>
    private sealed class ChunkDrain(MuxStream stream) : ObserverDrain<ReadOnlyMemory<byte>>(stream.Lock, stream._session.Scheduler)
    {
        public bool IsObservedLocked => HasObserverLocked;

        public void SignalReaderLocked()
        {
            if (HasObserverLocked)
            {
                SignalLocked();
            }
        }

        protected override Next<ReadOnlyMemory<byte>> TakeLocked()
        {
            if (stream._resetError is null && stream.HasDataLocked)
            {
                return Next<ReadOnlyMemory<byte>>.Of(stream._received!.Take(int.MaxValue));
            }
            var (ended, error) = stream.TerminalLocked();
            return ended ? Next<ReadOnlyMemory<byte>>.End(error) : Next<ReadOnlyMemory<byte>>.Nothing;
        }

        protected override void OnDelivered(IObserver<ReadOnlyMemory<byte>> observer, ReadOnlyMemory<byte> item)
        {
            // A plain Received subscriber has consumed the chunk when its OnNext returns; a credited one releases it itself.
            if (observer is not CreditingObserver)
            {
                stream.ReportConsumed(item.Length);
            }
        }

        protected override void OnObserverFaulted(ReadOnlyMemory<byte> item, Exception error) => stream.Reset(ErrorCode.InternalError);
    }

    /// <summary><see cref="Received"/>: no Rx wrapper between the drain and the subscriber, so nothing can drop a chunk.</summary>
    private sealed class ReceivedObservable(MuxStream stream) : IObservable<ReadOnlyMemory<byte>>
    {
        public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            return (IDisposable?)stream.AttachReader(observer) ?? System.Reactive.Disposables.Disposable.Empty;
        }
    }

    /// <summary><see cref="ReceivedWithCredit"/>.</summary>
    internal sealed class CreditedObservable(MuxStream stream) : IObservable<CreditedChunk>
    {
        public IDisposable Subscribe(IObserver<CreditedChunk> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            return (IDisposable?)stream.AttachReader(new CreditingObserver(stream, observer)) ?? System.Reactive.Disposables.Disposable.Empty;
        }

        /// <summary>For a credit operator of the library (see <see cref="AttachReader"/>); null when refused (told by OnError).</summary>
        internal ObserverDrain<ReadOnlyMemory<byte>>.Attachment? SubscribeWaitingForDelivery(IObserver<CreditedChunk> observer) =>
            stream.AttachReader(new CreditingObserver(stream, observer), waitForDelivery: true);
    }

    /// <summary>Wraps each chunk with its credit for a <see cref="ReceivedWithCredit"/> subscriber.</summary>
    internal sealed class CreditingObserver(MuxStream stream, IObserver<CreditedChunk> observer) : IObserver<ReadOnlyMemory<byte>>
    {
        public void OnNext(ReadOnlyMemory<byte> value) => observer.OnNext(new CreditedChunk(stream, value));
        public void OnError(Exception error) => observer.OnError(error);
        public void OnCompleted() => observer.OnCompleted();
    }
}
