using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace Muxado.Reactive.Testing.Example.Protocol;

/// <summary>
/// Calls methods on a <see cref="JsonServer"/>: each attempt is a stream of its own; an attempt that has no reply
/// within <c>timeout</c> is abandoned (its stream reset) and the call is tried again, up to <c>attempts</c> times.
/// </summary>
/// <remarks>The timeout runs on <c>scheduler</c>: give it the session's scheduler, and a test scheduler in tests.</remarks>
public sealed class JsonClient(MuxSession session, IScheduler scheduler, TimeSpan timeout, int attempts = 3)
{
    private int _lastId;

    /// <summary>
    /// A cold observable: each subscription makes the call, yielding its result and completing. An error reply fails
    /// it at once; only a timeout is tried again.
    /// </summary>
    public IObservable<int> Call(string method, params int[] args)
    {
        var request = new JsonRequest(Interlocked.Increment(ref _lastId), method, args).ToBytes();
        IObservable<int> Try(int left) => Attempt(request)
            .Timeout(timeout, scheduler)
            .Catch<int, TimeoutException>(late => left > 1 ? Try(left - 1) : Observable.Throw<int>(late));
        return Observable.Defer(() => Try(attempts));
    }

    private IObservable<int> Attempt(byte[] request) => Observable.Create<int>(async (observer, cancel) =>
    {
        var stream = await session.OpenAsync(cancel);
        try
        {
            await stream.WriteAsync(request, cancel);
            await stream.CloseWriteAsync(cancel);
            var reply = new List<byte>();
            await foreach (var chunk in stream.ReadAllAsync(cancel))
            {
                reply.AddRange(chunk.Span);
            }
            var answer = JsonReply.Parse(reply.ToArray());
            if (answer.Error is { } error)
            {
                observer.OnError(new JsonCallException(error));
                return;
            }
            observer.OnNext(answer.Result ?? 0);
            observer.OnCompleted();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Abandoned (timed out, or the caller unsubscribed): tell the server to stop working on it.
            stream.Reset(ErrorCode.StreamCancelled);
        }
    });
}
