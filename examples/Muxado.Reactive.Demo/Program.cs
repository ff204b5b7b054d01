// A tour of Muxado.Reactive over real loopback TCP: a server and a client session in one process.
// With --trace, every frame the client reads (<-) and writes (->) is printed to stderr, one per line.
// With --metrics, the library's instruments (meter "Muxado.Reactive") are collected with a MeterListener and printed at
// the end, as an exporter would ship them; `dotnet-counters monitor --counters Muxado.Reactive` shows the same live.
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using System.Text.Json;
using Muxado.Reactive;
using Muxado.Reactive.Transports;

const uint EchoType = 1;
const uint JsonType = 2;

var totals = new ConcurrentDictionary<string, double>();
using var meters = args.Contains("--metrics") ? ListenToMuxadoInstruments(totals) : null;

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen();
var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
await clientSocket.ConnectAsync(listener.LocalEndPoint!);
var serverSocket = await listener.AcceptAsync();
Console.WriteLine($"connected over {listener.LocalEndPoint}");

await using var server = MuxSession.Create(serverSocket, SessionRole.Server);
bool trace = args.Contains("--trace");
await using var client = trace
    ? MuxSession.Client(FrameTransport.FromSocket(clientSocket).Tap(FrameFormatter.WriteTo(Console.Error, "client")))
    : MuxSession.Create(clientSocket, SessionRole.Client);

// The server: every typed stream the client opens arrives on an Rx sequence.
using var serving = server.IncomingTyped.Subscribe(typed => _ = Serve(typed));

// 1. Rx in, Rx out: send a sequence of chunks with SendTo, read the echo with Received.
var echo = await client.OpenTypedAsync(EchoType);
var words = new[] { "many ", "streams ", "over ", "one ", "connection" }
    .Select(w => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(w)).ToObservable();
var reply = echo.Received.Aggregate(new StringBuilder(), (sb, chunk) => sb.Append(Encoding.UTF8.GetString(chunk.Span)));
await words.SendTo(echo);
Console.WriteLine($"echo:      \"{await reply}\"");

// 2. The System.IO.Stream bridge: any .NET serializer works over a stream.
var json = await client.OpenTypedAsync(JsonType);
await using (var io = json.AsStream())
{
    await JsonSerializer.SerializeAsync(io, new { Numbers = new[] { 1, 2, 3, 4 } });
    await json.CloseWriteAsync();
    var sum = await JsonSerializer.DeserializeAsync<int>(io);
    Console.WriteLine($"json:      the server summed the array to {sum}");
}

// 3. Many streams at once, each its own flow-controlled byte stream.
var lengths = await Task.WhenAll(Enumerable.Range(1, 100).Select(async i =>
{
    var s = await client.OpenTypedAsync(EchoType);
    var payload = new byte[i * 1000];
    var readBack = s.Received.Sum(c => c.Length).ToTask();
    await s.WriteAsync(payload);
    await s.CloseWriteAsync();
    return await readBack;
}));
Console.WriteLine($"parallel:  100 streams echoed {lengths.Sum():N0} bytes");

// 4. Heartbeat latency as an observable (the server answers heartbeats by itself).
await using var heartbeat = await Heartbeat.StartAsync(client, interval: TimeSpan.FromMilliseconds(100));
var latencies = await heartbeat.Latencies.Take(3).ToList();
Console.WriteLine($"heartbeat: {string.Join(", ", latencies.Select(l => $"{l.TotalMilliseconds:F2} ms"))}");
// A beat on demand (Go's Beat()), and a summary of the last round trips for a status line.
var now = await heartbeat.BeatAsync();
Console.WriteLine($"beat now:  {(now.IsTimeout ? "timeout" : $"{now.Latency.TotalMilliseconds:F2} ms")}");
var summary = await heartbeat.Latencies.ToRoundTripStatistics(window: 5).Take(5).LastAsync();
Console.WriteLine($"last {summary.Count}:    min {summary.Min.TotalMilliseconds:F2} ms, mean {summary.Mean.TotalMilliseconds:F2} ms, " +
    $"max {summary.Max.TotalMilliseconds:F2} ms, p99 {summary.P99.TotalMilliseconds:F2} ms");

Console.WriteLine($"client statistics: {client.Statistics}");
await client.DisposeAsync();
var end = await server.Completion;
Console.WriteLine($"server session ended: {end}");
if (meters is not null)
{
    meters.RecordObservableInstruments();
    Console.WriteLine("metrics (both sessions, summed; histograms as their total):");
    foreach (var (name, total) in totals.OrderBy(t => t.Key, StringComparer.Ordinal))
    {
        Console.WriteLine($"  {name,-40} {total,14:N3}");
    }
}

// Sums every measurement of the Muxado.Reactive meter by instrument and tags: the console stand-in for an exporter.
static MeterListener ListenToMuxadoInstruments(ConcurrentDictionary<string, double> totals)
{
    var meterListener = new MeterListener
    {
        InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Muxado.Reactive")
            {
                l.EnableMeasurementEvents(instrument);
            }
        },
    };
    void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = instrument.Name;
        foreach (var tag in tags)
        {
            key += $" {tag.Key.Split('.')[^1]}={tag.Value}";
        }
        // Observable instruments report a current value: keep the last one; the others are summed.
        bool isCurrentValue = instrument.GetType().Name.StartsWith("Observable", StringComparison.Ordinal);
        totals.AddOrUpdate(key, value, (_, old) => isCurrentValue ? value : old + value);
    }
    meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
    meterListener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument, value, tags));
    meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
    meterListener.Start();
    return meterListener;
}

static async Task Serve(TypedStream typed)
{
    var stream = typed.Stream;
    if (typed.Type == EchoType)
    {
        await foreach (var chunk in stream.ReadAllAsync())
        {
            await stream.WriteAsync(chunk);
        }
        await stream.CloseWriteAsync();
    }
    else if (typed.Type == JsonType)
    {
        await using var io = stream.AsStream();
        var doc = await JsonSerializer.DeserializeAsync<JsonElement>(io);
        int sum = doc.GetProperty("Numbers").EnumerateArray().Sum(e => e.GetInt32());
        await JsonSerializer.SerializeAsync(io, sum);
    }
    else
    {
        stream.Reset(ErrorCode.StreamRefused);
    }
}
