using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>
/// <see cref="FlowControlObservable.SelectAsyncWithCredit{TResult}"/>: credited chunks queue here and are worked on one at a
/// time, in order; a chunk's credit returns when its work completes, and its result goes downstream.
/// </summary>
/// <remarks>
/// <para>Ownership of a chunk: from <see cref="OnNext"/> it is this operator's, queued; when its work starts it belongs to
/// that work, which releases it when it ends (succeeded, failed or cancelled); chunks still queued when the operator stops
/// (unsubscribed, a work failed, the observer threw) are given back to their stream unread, and the source subscription
/// ends with them. From a stream's own <see cref="MuxStream.ReceivedWithCredit"/> that happens in one section under the
/// stream's lock, so no other reader can attach in between and see later bytes first.</para>
/// <para>Downstream is called by one runner at a time (whoever finds the pump idle: the source's thread for a first chunk,
/// then the work's continuations), so notifications are never concurrent, and nothing follows the end.</para>
/// </remarks>
internal sealed class CreditWorkPump<TResult> : IObserver<CreditedChunk>
{
    private readonly object _gate = new();
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, Task<TResult>> _work;
    private readonly IObserver<TResult> _observer;
    private readonly CancellationTokenSource _cancel = new();
    private readonly SingleAssignmentDisposable _source = new();
    private readonly Queue<CreditedChunk> _queue = new();
    private bool _running;
    private bool _sourceDone;
    private Exception? _sourceError;
    private bool _stopped; // no more work; whoever stopped it sends the end, if any

    private CreditWorkPump(Func<ReadOnlyMemory<byte>, CancellationToken, Task<TResult>> work, IObserver<TResult> observer)
    {
        _work = work;
        _observer = observer;
    }

    public void OnNext(CreditedChunk value)
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                _queue.Enqueue(value);
                if (_running)
                {
                    return;
                }
                _running = true;
            }
        }
        if (Volatile.Read(ref _stopped))
        {
            // Arrived while the source subscription was ending: it was never handed on.
            value.Stream.ReturnUnread([value]);
            return;
        }
        // The work is user code: it starts on the session's scheduler, not inside this OnNext, which the stream's
        // delivery may be holding up (an unsubscription waits for it).
        value.Stream.Session.Scheduler.Schedule(this, static (_, pump) =>
        {
            pump.StartRunning();
            return Disposable.Empty;
        });
    }

    public void OnError(Exception error) => SourceEnded(error);

    public void OnCompleted() => SourceEnded(null);

    private void SourceEnded(Exception? error)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            _sourceDone = true;
            _sourceError = error;
            if (_running)
            {
                return;
            }
            _running = true;
        }
        _ = RunAsync();
    }

    private void StartRunning() => _ = RunAsync();

    /// <summary>Works through the queue; never faults (nobody awaits it): every failure goes to the observer.</summary>
    private async Task RunAsync()
    {
        while (true)
        {
            CreditedChunk? chunk;
            lock (_gate)
            {
                if (_stopped)
                {
                    _running = false;
                    return;
                }
                if (!_queue.TryDequeue(out chunk))
                {
                    _running = false;
                    if (!_sourceDone)
                    {
                        return;
                    }
                    _stopped = true;
                }
            }
            if (chunk is null)
            {
                Notify(() => _observer.End(_sourceError), stream: null);
                return;
            }
            TResult result;
            try
            {
                result = await _work(chunk.Data, _cancel.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                chunk.Release();
                if (Stop())
                {
                    Notify(() => _observer.OnError(ex), stream: null);
                }
                return;
            }
            chunk.Release();
            if (!Notify(() => _observer.OnNext(result), chunk.Stream))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Calls downstream. An observer that throws stops the pump (Rx forbids calling it again) and, like any observer of a
    /// stream that throws, resets the <paramref name="stream"/> it was handling with <see cref="ErrorCode.InternalError"/>.
    /// </summary>
    private bool Notify(Action call, MuxStream? stream)
    {
        try
        {
            call();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Stop();
            stream?.Reset(ErrorCode.InternalError);
            return false;
        }
    }

    /// <summary>
    /// Stops: cancels the running work, ends the source subscription and gives every queued chunk back to its stream.
    /// False if it had stopped already (someone else reports the end).
    /// </summary>
    private bool Stop()
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return false;
            }
            _stopped = true;
        }
        _cancel.Cancel();
        if (_source.Disposable is ObserverDrain<ReadOnlyMemory<byte>>.Attachment attachment)
        {
            attachment.DetachThen(GiveBackLocked);
        }
        else
        {
            _source.Dispose();
        }
        GiveBack(); // whatever came in before the subscription ended, from a source that is not a stream's own
        return true;
    }

    /// <summary>Under the stream's lock, in the section that ends the subscription.</summary>
    private void GiveBackLocked()
    {
        var queued = TakeQueued();
        if (queued.Count > 0)
        {
            queued[0].Stream.ReturnUnreadLocked(queued);
        }
    }

    private void GiveBack()
    {
        foreach (var group in TakeQueued().GroupBy(c => c.Stream))
        {
            group.Key.ReturnUnread(group);
        }
    }

    private List<CreditedChunk> TakeQueued()
    {
        lock (_gate)
        {
            var queued = _queue.ToList();
            _queue.Clear();
            return queued;
        }
    }

    /// <summary>Each subscription gets its own pump.</summary>
    internal sealed class Observable(IObservable<CreditedChunk> source, Func<ReadOnlyMemory<byte>, CancellationToken, Task<TResult>> work) : IObservable<TResult>
    {
        public IDisposable Subscribe(IObserver<TResult> observer)
        {
            ArgumentNullException.ThrowIfNull(observer);
            var pump = new CreditWorkPump<TResult>(work, observer);
            // Straight from a stream: a subscription that can give the queued chunks back under the stream's lock.
            pump._source.Disposable = source is MuxStream.CreditedObservable credited
                ? (IDisposable?)credited.SubscribeWaitingForDelivery(pump) ?? Disposable.Empty
                : source.Subscribe(pump);
            return Disposable.Create(() => pump.Stop());
        }
    }
}
