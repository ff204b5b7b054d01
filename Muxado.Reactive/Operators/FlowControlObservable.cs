using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace Muxado.Reactive;

/// <summary>
/// Credit-based flow control as Rx operators. Credit is what lets the peer send more; these operators
/// decide when a chunk's credit goes back, so backpressure survives scheduler hops and asynchronous work.
/// </summary>
/// <remarks>
/// <see cref="ObserveOnWithCredit"/> and <see cref="SelectAsyncWithCredit{TResult}"/> never strand credit: when they are
/// unsubscribed (by <c>Switch</c>, <c>Retry</c>, <c>Take</c>, a disposed subscription), the chunks still queued inside them,
/// which nobody downstream has seen, go back to the head of the stream's unread data, so the window stays open and the
/// next reader goes on with exactly the bytes that were not handed out.
/// </remarks>
public static class FlowControlObservable
{
    /// <summary>
    /// Delivers chunks downstream and releases each chunk's credit when the downstream <c>OnNext</c> for it
    /// returns. Put it after an <c>ObserveOn</c> so credit returns when the work on the other scheduler is done.
    /// </summary>
    /// <remarks>
    /// Chunks dropped before they reach this operator (inside a plain <c>ObserveOn</c>'s queue when it is unsubscribed)
    /// are never released; prefer <see cref="ObserveOnWithCredit"/>, which gives them back.
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
    /// <para>One subscriber of the stream at a time, like <see cref="MuxStream.Received"/>. Delivered through the library's
    /// serial drain on <paramref name="scheduler"/> (at most 64 chunks per turn). Unsubscribing gives the chunks not yet
    /// delivered back to the stream, in order. A downstream <c>OnNext</c> that throws resets the stream with
    /// <see cref="ErrorCode.InternalError"/>.</para>
    /// <code>
    /// stream:    -a-b-c------|
    /// output:    ---a---b---c|   (on scheduler; the peer may not reuse a's window before a is handled)
    /// </code>
    /// </remarks>
    public static IObservable<ReadOnlyMemory<byte>> ObserveOnWithCredit(this MuxStream stream, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(scheduler);
        return new CreditHop.Observable(stream, scheduler);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on each chunk, one at a time and in order, and releases the chunk's
    /// credit only when its task completes; yields each result.
    /// </summary>
    /// <remarks>
    /// <para>Unsubscribing cancels the running work (its chunk counts as consumed: its work began) and gives the chunks
    /// still waiting for their turn back to their stream, in order. Work that fails ends the sequence with its exception
    /// and gives back the waiting chunks the same way.</para>
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
        return new CreditWorkPump<TResult>.Observable(source, work);
    }
}
