using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace Muxado.Reactive;

/// <summary>
/// Credit-based flow control as Rx operators. Credit is what lets the peer send more; these operators
/// decide when a chunk's credit goes back, so backpressure survives scheduler hops and asynchronous work.
/// </summary>
/// <remarks>
/// Unsubscribing drops the chunks still queued inside <c>ObserveOn</c> or waiting for their turn in
/// <see cref="SelectAsyncWithCredit{TResult}"/> without releasing their credit: unsubscribe from a stream you
/// are done with, and close or reset it, rather than expecting to read on from where you left.
/// </remarks>
public static class FlowControlObservable
{
    /// <summary>
    /// Delivers chunks downstream and releases each chunk's credit when the downstream <c>OnNext</c> for it
    /// returns. Put it after an <c>ObserveOn</c> so credit returns when the work on the other scheduler is done.
    /// </summary>
    /// <remarks>
    /// <code>
    /// stream.ReceivedWithCredit().ObserveOn(ui).ReleaseOnDelivery().Subscribe(render)
    ///
    /// credited:  -a--b--c-|
    /// output:    -a--b--c-|   (credit of a returns after render(a) returns on the ui scheduler)
    /// </code>
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> ReleaseOnDelivery(this IObservable<CreditedChunk> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Observable.Create<ReadOnlyMemory<byte>>(observer => source.Subscribe(
            chunk =>
            {
                try
                {
                    observer.OnNext(chunk.Data);
                }
                finally
                {
                    chunk.Release();
                }
            },
            observer.OnError,
            observer.OnCompleted));
    }

    /// <summary>
    /// Hops to <paramref name="scheduler"/> while holding each chunk's credit until the downstream
    /// <c>OnNext</c> on that scheduler returns: <c>ObserveOn</c> that keeps backpressure.
    /// </summary>
    /// <remarks>
    /// <code>
    /// stream:    -a-b-c------|
    /// output:    ---a---b---c|   (on scheduler; the peer may not reuse a's window before a is handled)
    /// </code>
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> ObserveOnWithCredit(this MuxStream stream, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(scheduler);
        return stream.ReceivedWithCredit().ObserveOn(scheduler).ReleaseOnDelivery();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on each chunk, one at a time and in order, and releases the chunk's
    /// credit only when its task completes; yields each result. Unsubscribing cancels the running work.
    /// </summary>
    /// <remarks>
    /// <code>
    /// credited: -a-b------------|
    /// work:      [--a--][--b--]
    /// output:   -------A------B-|   (a's credit returns when work(a) completes)
    /// </code>
    /// </remarks>
    public static IObservable<TResult> SelectAsyncWithCredit<TResult>(
        this IObservable<CreditedChunk> source,
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<TResult>> work)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(work);
        return source
            .Select(chunk => Observable.FromAsync(async ct =>
            {
                try
                {
                    return await work(chunk.Data, ct).ConfigureAwait(false);
                }
                finally
                {
                    chunk.Release();
                }
            }))
            .Concat();
    }
}
