using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>
/// <see cref="FlowControlObservable.ObserveOnWithCredit"/>: credited chunks from the stream, queued here, and delivered on
/// another scheduler by the library's serial drain; each chunk's credit returns when the downstream <c>OnNext</c> for it
/// returns.
/// </summary>
/// <remarks>
/// Ownership of a chunk: the stream's drain hands it to <see cref="OnNext"/> (the chunk is now this operator's), this
/// operator's drain hands it downstream and releases it after <c>OnNext</c> returns. On unsubscription, downstream
/// delivery stops first (an <c>OnNext</c> running on the other scheduler finishes), then the stream subscription ends and,
/// in the same section under the stream's lock, the chunks still queued here go back to the head of the stream's unread
/// data, before any other reader can attach.
/// </remarks>
internal sealed class CreditHop : ObserverDrain<CreditedChunk>, IObserver<CreditedChunk>
{
    private readonly DeferringLock _lock;
    private readonly MuxStream _stream;
    private readonly Queue<CreditedChunk> _queue = new();
    private bool _ended;
    private Exception? _error;

    private CreditHop(DeferringLock ownLock, MuxStream stream, IScheduler scheduler)
        : base(ownLock, scheduler)
    {
        _lock = ownLock;
        _stream = stream;
    }

    public void OnNext(CreditedChunk value)
    {
        using (_lock.Enter())
        {
            _queue.Enqueue(value);
            SignalLocked();
        }
    }

    public void OnError(Exception error) => End(error);

    public void OnCompleted() => End(null);

    private void End(Exception? error)
    {
        using (_lock.Enter())
        {
            _ended = true;
            _error = error;
            SignalLocked();
        }
    }

    protected override Next<CreditedChunk> TakeLocked() =>
        _queue.TryDequeue(out var chunk) ? Next<CreditedChunk>.Of(chunk)
        : _ended ? Next<CreditedChunk>.End(_error)
        : Next<CreditedChunk>.Nothing;

    protected override void OnDelivered(IObserver<CreditedChunk> observer, CreditedChunk item) => item.Release();

    protected override void OnObserverFaulted(CreditedChunk item, Exception error)
    {
        item.Release();
        _stream.Reset(ErrorCode.InternalError);
    }

    private List<CreditedChunk> TakeQueued()
    {
        using (_lock.Enter())
        {
            var queued = _queue.ToList();
            _queue.Clear();
            return queued;
        }
    }

    private IDisposable Start(IObserver<ReadOnlyMemory<byte>> observer)
    {
        var downstream = Attach(new DataObserver(observer), "unreachable: a new hop has no observer")!;
        var upstream = _stream.AttachReader(new MuxStream.CreditingObserver(_stream, this), waitForDelivery: true);
        return Disposable.Create(() =>
        {
            downstream.Dispose();
            if (upstream is null)
            {
                return; // the stream refused us (it had a reader): we were told with OnError, and hold nothing
            }
            upstream.DetachThen(() => _stream.ReturnUnreadLocked(TakeQueued()));
        });
    }

    /// <summary>Hands a chunk's bytes downstream.</summary>
    private sealed class DataObserver(IObserver<ReadOnlyMemory<byte>> observer) : IObserver<CreditedChunk>
    {
        public void OnNext(CreditedChunk value) => observer.OnNext(value.Data);
        public void OnError(Exception error) => observer.OnError(error);
        public void OnCompleted() => observer.OnCompleted();
    }

    /// <summary>Each subscription gets its own hop.</summary>
    internal sealed class Observable(MuxStream stream, IScheduler scheduler) : IObservable<ReadOnlyMemory<byte>>
    {
        public IDisposable Subscribe(IObserver<ReadOnlyMemory<byte>> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            return new CreditHop(new DeferringLock(), stream, scheduler).Start(observer);
        }
    }
}
