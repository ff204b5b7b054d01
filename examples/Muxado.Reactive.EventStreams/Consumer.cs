using System.Collections.Concurrent;
using System.Reactive.Linq;

namespace Muxado.Reactive.EventStreams;

/// <summary>How the consumer processes events.</summary>
/// <param name="SlowPartition">The partition whose processing is slow (a downstream call that takes its time).</param>
/// <param name="SlowPerEvent">What each event of the slow partition costs.</param>
/// <param name="Concurrency">Chunks processed at once, over all partitions.</param>
internal sealed record ConsumerOptions(int? SlowPartition, TimeSpan SlowPerEvent, int Concurrency);

/// <summary>
/// The consumer: every partition stream of a session is processed in order with
/// <see cref="FlowControlObservable.SelectAsyncWithCredit{TResult}"/>, under one bound on the work running at once.
/// </summary>
/// <remarks>
/// <para>Backpressure per partition: a chunk's credit returns only when its processing has completed, so a partition's
/// producer can be at most one window ahead of its processing, and a slow partition holds back its own producer and
/// nobody else. Memory is bounded by construction: at most a window per partition waits here.</para>
/// <para>The bound on concurrency (a semaphore of <see cref="ConsumerOptions.Concurrency"/> workers) is shared, yet the
/// slow partition takes at most one worker: SelectAsyncWithCredit works on one chunk of a stream at a time.</para>
/// </remarks>
internal sealed class Consumer(ConsumerOptions options, Action<string> log)
{
    private readonly SemaphoreSlim _workers = new(options.Concurrency, options.Concurrency);
    private readonly ConcurrentDictionary<int, PartitionCount> _processed = new();
    private readonly ConcurrentDictionary<MuxSession, bool> _sessions = new();
    private long _failures;

    /// <summary>Events processed so far in <paramref name="partition"/>.</summary>
    public long Processed(int partition) => _processed.TryGetValue(partition, out var count) ? count.Value : 0;

    /// <summary>Partitions seen so far.</summary>
    public IReadOnlyList<int> Partitions => [.. _processed.Keys.Order()];

    /// <summary>Partition streams that failed: an event missing, repeated, out of order or damaged.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Bytes received and not yet processed, over the sessions served now: at most a window per partition.</summary>
    public long BufferedBytes => _sessions.Keys.Sum(s => s.Statistics.BufferedReceiveBytes);

    /// <summary>
    /// Every partition stream the session's peer opens, processed; yields the number of events of each processed chunk.
    /// Ends when the session does (its error reported), or when unsubscribed: that cancels the work under way and gives
    /// the chunks not yet processed back to their streams.
    /// </summary>
    public IObservable<int> Serve(MuxSession session) => Observable.Defer(() =>
        {
            _sessions[session] = true;
            return session.IncomingTyped
                .Select(Process)
                .Merge()
                .Catch((MuxadoSessionException error) =>
                {
                    log($"consumer: session ended: {error.Code} {error.Message}");
                    return Observable.Empty<int>();
                })
                .Finally(() => _sessions.TryRemove(session, out _));
        });

    private IObservable<int> Process(TypedStream typed)
    {
        var stream = typed.Stream;
        if (typed.Type >= 1024)
        {
            stream.Reset(ErrorCode.StreamRefused);
            return Observable.Empty<int>();
        }
        int partition = (int)typed.Type;
        var count = _processed.GetOrAdd(partition, _ => new PartitionCount());
        return Observable.Defer(() =>
            {
                var checker = new PartitionChecker(partition); // per subscription: it holds an event split across chunks
                return stream.ReceivedWithCredit()
                    .SelectAsyncWithCredit((chunk, cancellationToken) => ProcessAsync(partition, checker, count, chunk, cancellationToken));
            })
            // The producer ended the partition (FIN) and every event is processed: closing our side tells it so.
            .Concat(Observable.FromAsync(async () => await stream.DisposeAsync()).Select(_ => 0).IgnoreElements())
            .Catch((Exception error) =>
            {
                // One partition's end is reported and ends that partition alone.
                if (error is InvalidDataException)
                {
                    Interlocked.Increment(ref _failures);
                    stream.Reset(ErrorCode.ProtocolError);
                    log($"consumer: partition {partition} failed: {error.Message}");
                }
                else
                {
                    // Reset by the producer, or its session ended: the events that had arrived were processed.
                    log($"consumer: partition {partition} ended early after {count.Value:N0} events: {(error is MuxadoException m ? $"{m.Code} " : "")}{error.Message}");
                }
                return Observable.Empty<int>();
            });
    }

    private async Task<int> ProcessAsync(int partition, PartitionChecker checker, PartitionCount count, ReadOnlyMemory<byte> chunk,
        CancellationToken cancellationToken)
    {
        await _workers.WaitAsync(cancellationToken);
        try
        {
            int events = checker.Check(chunk.Span);
            if (partition == options.SlowPartition)
            {
                await Task.Delay(options.SlowPerEvent * events, cancellationToken); // the slow downstream
            }
            count.Add(events);
            return events;
        }
        finally
        {
            _workers.Release();
        }
    }

    private sealed class PartitionCount
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Add(int events) => Interlocked.Add(ref _value, events);
    }
}
