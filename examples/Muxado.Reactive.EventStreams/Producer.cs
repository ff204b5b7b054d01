using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Muxado.Reactive.EventStreams;

/// <summary>
/// The producer: one session to the consumer, one stream per partition, and per partition a writer that makes events at
/// <c>eventsPerSecond</c> as far as the consumer's window lets it.
/// </summary>
/// <remarks>
/// <para>The pace comes from a timer that skips the ticks it misses: while the consumer holds a partition's window shut, its
/// writer waits in <see cref="MuxStream.WriteAsync"/> and makes no events, so nothing piles up on the producer's side
/// either. A real producer would read its source (a log, a queue) only as fast as it can send.</para>
/// <para>The end of a partition is a handshake: the producer half-closes after its last event, and the consumer closes its
/// side once it has processed that event, so that the producer knows nothing was lost.</para>
/// </remarks>
internal sealed class Producer : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);
    private readonly CancellationTokenSource _stopProducing = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly List<Task> _writers = [];
    private readonly Action<string> _log;

    private Producer(MuxSession session, IReadOnlyList<PartitionWriter> partitions, Action<string> log)
    {
        Session = session;
        Partitions = partitions;
        _log = log;
    }

    public MuxSession Session { get; }

    public IReadOnlyList<PartitionWriter> Partitions { get; }

    /// <summary>Connects, opens a stream per partition and starts writing.</summary>
    /// <exception cref="SocketException">The consumer cannot be reached.</exception>
    public static async Task<Producer> StartAsync(IPEndPoint consumer, int partitions, int eventsPerSecond, Action<string> log, CancellationToken cancellationToken)
    {
        var socket = new Socket(consumer.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(consumer, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var session = MuxSession.Create(socket, SessionRole.Client); // the session owns the socket from here
        var writers = new List<PartitionWriter>();
        for (int partition = 0; partition < partitions; partition++)
        {
            // The stream type names the partition: the consumer knows each stream's partition before its first event.
            writers.Add(new PartitionWriter(partition, await session.OpenTypedAsync((uint)partition, cancellationToken)));
        }
        var producer = new Producer(session, writers, log);
        int perTick = Math.Max(1, (int)(eventsPerSecond * Tick.TotalSeconds));
        producer._writers.AddRange(writers.Select(w => producer.WriteAsync(w, perTick)));
        return producer;
    }

    /// <summary>
    /// Stops gracefully: no new events; each partition ends (FIN) after its last write and waits for the consumer to close
    /// its side, which it does once it has processed the partition; after <paramref name="drain"/>, writes still waiting
    /// for the consumer's window are cancelled (their streams reset). Then the session closes.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _stopProducing.CancelAsync();
        try
        {
            await Task.WhenAll(_writers).WaitAsync(drain);
        }
        catch (TimeoutException) when (drain > TimeSpan.Zero)
        {
            int left = _writers.Count(w => !w.IsCompleted);
            _log($"producer: {left} partition(s) not processed to the end within {drain.TotalSeconds:0.#} s: cutting them short");
        }
        catch (TimeoutException)
        {
            // Closing at once.
        }
        await _abort.CancelAsync();
        await Task.WhenAll(_writers);
        await Session.DisposeAsync();
    }

    /// <summary>Closes at once: <see cref="StopAsync"/> with no time for the consumer to catch up.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_abort.IsCancellationRequested)
        {
            await StopAsync(TimeSpan.Zero);
        }
        _stopProducing.Dispose();
        _abort.Dispose();
    }

    /// <summary>Writes one partition until stopped, then ends it; a failed stream is reported and ends alone.</summary>
    private async Task WriteAsync(PartitionWriter writer, int perTick)
    {
        var batch = new byte[perTick * EventProtocol.EventSize];
        using var timer = new PeriodicTimer(Tick);
        try
        {
            try
            {
                while (await timer.WaitForNextTickAsync(_stopProducing.Token))
                {
                    var now = DateTimeOffset.UtcNow;
                    for (int i = 0; i < perTick; i++)
                    {
                        EventProtocol.Encode(batch.AsSpan(i * EventProtocol.EventSize), writer.Partition, writer.Produced + i, now);
                    }
                    // Not cancelled by the stop: a batch under way goes whole, so the consumer never sees half an event.
                    await writer.WriteAsync(batch, perTick, _abort.Token);
                }
            }
            catch (OperationCanceledException) when (_stopProducing.IsCancellationRequested && !_abort.IsCancellationRequested)
            {
                // No more events: end the partition.
            }
            await writer.EndAsync(_abort.Token);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Cut short: a write still waiting was cancelled, which reset the stream.
        }
        catch (MuxadoSessionException)
        {
            // The session ended: the program reports that once, not once a partition.
        }
        catch (MuxadoStreamException error)
        {
            _log($"producer: partition {writer.Partition} stopped: {error.Code} {error.Message}");
        }
    }
}

/// <summary>One partition's stream on the producer's side, and how much the consumer held it back.</summary>
internal sealed class PartitionWriter(int partition, MuxStream stream)
{
    private readonly Lock _gate = new();
    private long _produced;
    private TimeSpan _blocked;
    private long? _blockedSince;

    public int Partition => partition;

    /// <summary>Events written so far.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>True while a write waits for the consumer's window.</summary>
    public bool IsBlocked
    {
        get
        {
            lock (_gate)
            {
                return _blockedSince is not null;
            }
        }
    }

    /// <summary>Time spent waiting for the consumer's window so far (a wait under way included).</summary>
    public TimeSpan Blocked
    {
        get
        {
            lock (_gate)
            {
                return _blocked + (_blockedSince is { } since ? Stopwatch.GetElapsedTime(since) : TimeSpan.Zero);
            }
        }
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> events, int count, CancellationToken cancellationToken)
    {
        // A write completes at once while the window is open; when it does not, the consumer is holding us back.
        var write = stream.WriteAsync(events, cancellationToken);
        if (!write.IsCompleted)
        {
            lock (_gate)
            {
                _blockedSince = Stopwatch.GetTimestamp();
            }
            try
            {
                await write;
            }
            finally
            {
                lock (_gate)
                {
                    _blocked += Stopwatch.GetElapsedTime(_blockedSince!.Value);
                    _blockedSince = null;
                }
            }
        }
        else
        {
            await write;
        }
        Interlocked.Add(ref _produced, count);
    }

    /// <summary>Half-closes (FIN), then waits for the consumer to close its side: it has processed every event.</summary>
    public async Task EndAsync(CancellationToken cancellationToken)
    {
        await stream.CloseWriteAsync(cancellationToken);
        await foreach (var _ in stream.ReadAllAsync(cancellationToken))
        {
            // The consumer sends nothing: this ends with its FIN.
        }
    }
}
