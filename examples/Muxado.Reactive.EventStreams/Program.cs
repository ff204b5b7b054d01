// Event-stream processing with backpressure: a producer fans events out over 16 partition streams of one muxado session;
// the consumer processes each partition in order with SelectAsyncWithCredit, under a shared bound on concurrency. One
// partition's processing is slow: its producer slows down (its window stays shut), the others keep their pace, and
// memory stays bounded. The run measures all that every second and exits non-zero if it did not hold.
//
//   (no arguments)                        producer and consumer in this process over loopback TCP, for --duration (6 s)
//   --listen 127.0.0.1:7000               the consumer alone (until Ctrl+C or --duration)
//   --connect 127.0.0.1:7000              the producer alone (until Ctrl+C or --duration)
//   --duration 6s  --partitions 16  --rate 5000 (events/s per partition)  --slow 5 (or none)  --concurrency 4
using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Muxado.Reactive;
using Muxado.Reactive.EventStreams;

RunOptions run;
try
{
    run = RunOptions.Parse(args);
}
catch (FormatException error)
{
    Console.Error.WriteLine($"error: {error.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // end cleanly: stop processing, close the session
    stop.Cancel();
};

if (run.Connect is { } consumerAddress)
{
    return await ProduceAloneAsync(run, consumerAddress, stop);
}

var consumer = new Consumer(new ConsumerOptions(run.SlowPartition, run.SlowPerEvent, run.Concurrency), Console.WriteLine);
MuxListener listener;
try
{
    listener = MuxListener.Start(run.Listen ?? new IPEndPoint(IPAddress.Loopback, 0));
}
catch (SocketException error)
{
    Console.Error.WriteLine($"error: cannot listen on {run.Listen}: {error.Message}");
    return 1;
}
await using (listener)
{
    Console.WriteLine($"consumer: listening on {listener.LocalEndPoint}; {run.Concurrency} workers" +
        (run.SlowPartition is { } slow ? $"; partition #{slow} is slow ({run.SlowPerEvent.TotalMilliseconds:0.#} ms an event)" : ""));
    // Every session the listener accepts, served: its partitions merged into one sequence of processed chunks.
    using var serving = listener.Sessions
        .SelectMany(consumer.Serve)
        .Subscribe(_ => { }, error => Console.WriteLine($"consumer: stopped: {error.Message}"));

    Producer? producer = null;
    if (run.Listen is null)
    {
        try
        {
            producer = await Producer.StartAsync(listener.LocalEndPoint, run.Partitions, run.Rate, Console.WriteLine, stop.Token);
        }
        catch (OperationCanceledException)
        {
            return 0; // Ctrl+C before it started
        }
        Console.WriteLine($"producer: {run.Partitions} partitions of {run.Rate:N0} events/s each ({EventProtocol.EventSize} bytes an event)");
    }
    var progress = new Progress(consumer, producer, run.SlowPartition);
    await MeasureAsync(progress, run.Duration ?? (producer is null ? null : TimeSpan.FromSeconds(6)), stop.Token);
    // The measurement is over: processing stops first, which cancels the slow partition's work under way instead of
    // waiting for it to work through the window it has buffered; then the producer closes its session at once, and the
    // listener stops (a session still running gets a GOAWAY).
    serving.Dispose();
    if (producer is not null)
    {
        await producer.DisposeAsync();
    }
    await listener.StopAsync(TimeSpan.FromSeconds(1));
    return Verdict.Judge(progress.Seconds, consumer, run, producerHere: producer is not null);
}

static async Task<int> ProduceAloneAsync(RunOptions run, IPEndPoint consumer, CancellationTokenSource stop)
{
    Producer producer;
    try
    {
        producer = await Producer.StartAsync(consumer, run.Partitions, run.Rate, Console.WriteLine, stop.Token);
    }
    catch (SocketException error)
    {
        Console.Error.WriteLine($"error: cannot reach the consumer at {consumer}: {error.Message}");
        return 1;
    }
    catch (OperationCanceledException)
    {
        return 0; // Ctrl+C before it connected
    }
    await using (producer)
    {
        Console.WriteLine($"producer: {run.Partitions} partitions of {run.Rate:N0} events/s each to {consumer}");
        var measuring = MeasureAsync(new Progress(consumer: null, producer, slowPartition: null), run.Duration, stop.Token);
        if (await Task.WhenAny(measuring, producer.Session.Completion) != measuring)
        {
            // The consumer went away (or the link broke) before the end of the run.
            var end = await producer.Session.Completion;
            Console.WriteLine($"producer: the session ended: {end.LocalError}{(end.RemoteError is { } remote ? $", the consumer said {remote} \"{end.RemoteDebug}\"" : "")}");
            return end.IsClean ? 0 : 1;
        }
        // A graceful end: the consumer has a few seconds to process what is under way.
        await producer.StopAsync(drain: TimeSpan.FromSeconds(3));
        Console.WriteLine($"producer: wrote {producer.Partitions.Sum(p => p.Produced):N0} events");
    }
    return 0;
}

// A measurement a second, for the duration's whole seconds (or until Ctrl+C).
static async Task MeasureAsync(Progress progress, TimeSpan? duration, CancellationToken cancellationToken)
{
    var seconds = Observable.Interval(TimeSpan.FromSeconds(1)).Do(_ => progress.Measure());
    if (duration is { } length)
    {
        seconds = seconds.Take((int)Math.Ceiling(length.TotalSeconds));
    }
    try
    {
        await seconds.DefaultIfEmpty().ToTask(cancellationToken);
    }
    catch (OperationCanceledException)
    {
        // Ctrl+C
    }
}
