using System.Reactive.Concurrency;
using BenchmarkDotNet.Attributes;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>
/// The session's receive path per DATA frame: a decoded frame enters the session (as the read loop hands it over),
/// reaches the stream's reader, and its credit goes back (WNDINC). Target: no allocation beyond the delivered chunk,
/// which the frame reader has already allocated before this point; here the payload is a pre-made array, so any
/// allocation measured is the session's own.
/// </summary>
/// <remarks>
/// <para><c>Inline</c>: the session's scheduler is <see cref="ImmediateScheduler"/>, so delivery runs on the
/// benchmark's thread: the library's own work, without thread hops. Only the Rx reader (<c>Received</c>) is measured
/// this way (a pull reader's continuation would run under the session lock).</para>
/// <para><c>ThreadPool</c>: the default scheduler; frames are pushed in batches of <see cref="Batch"/> and the benchmark waits until the reader has seen all of them: real hand-off cost, per frame.</para>
/// </remarks>
[MemoryDiagnoser]
public class ReceivePathBenchmarks
{
    private const int Batch = 4;
    private NullTransport _transport = null!;
    private MuxSession _session = null!;
    private MuxStream _stream = null!;
    private ReadOnlyMemory<byte> _payload;
    private IDisposable? _subscription;
    private readonly ManualResetEventSlim _batchSeen = new();
    private int _seen;
    private Task? _pulling;

    public enum Delivery
    {
        InlineReceived,
        ThreadPoolReceived,
        ThreadPoolReadAll,
    }

    [Params(64, 1024, 16 * 1024, 64 * 1024)]
    public int PayloadSize { get; set; }

    [Params(Delivery.InlineReceived, Delivery.ThreadPoolReceived, Delivery.ThreadPoolReadAll)]
    public Delivery Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _transport = new NullTransport(encode: false);
        var scheduler = Mode == Delivery.InlineReceived ? (IScheduler)ImmediateScheduler.Instance : ThreadPoolScheduler.Instance;
        // A 4 MiB window: the reader signals a batch as seen just before the session books the last chunk as consumed,
        // so the next batch may arrive while up to one batch is still counted; with 256 KiB that would be a flow-control
        // violation. Credit is still returned per chunk (the reader is idle after each one).
        _session = MuxSession.Server(_transport.Transport, new MuxSessionOptions { Scheduler = scheduler, WindowSize = 4 * 1024 * 1024 });
        _transport.Receive(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        _stream = _session.AcceptAsync().GetAwaiter().GetResult();
        _payload = new byte[PayloadSize];
        if (Mode == Delivery.ThreadPoolReadAll)
        {
            _pulling = Task.Run(async () =>
            {
                await foreach (var chunk in _stream.ReadAllAsync().ConfigureAwait(false))
                {
                    OnChunk(chunk);
                }
            });
        }
        else
        {
            _subscription = _stream.Received.Subscribe(OnChunk);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscription?.Dispose();
        _session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _pulling?.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
        _batchSeen.Dispose();
    }

    private void OnChunk(ReadOnlyMemory<byte> chunk)
    {
        if (Interlocked.Increment(ref _seen) == Batch)
        {
            _batchSeen.Set();
        }
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void ReceiveDataFrame()
    {
        _seen = 0;
        _batchSeen.Reset();
        for (int i = 0; i < Batch; i++)
        {
            _transport.Receive(Frame.Data(3, _payload));
        }
        _batchSeen.Wait();
    }
}
