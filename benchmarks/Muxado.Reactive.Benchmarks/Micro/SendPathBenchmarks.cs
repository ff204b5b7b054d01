using BenchmarkDotNet.Attributes;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>
/// The session's send path per DATA frame: <see cref="MuxStream.WriteAsync"/> of one frame's worth of bytes on an
/// open stream with window available, over a transport without I/O. Target: no allocation per frame.
/// </summary>
/// <remarks>
/// The peer's credit comes back as one WNDINC per 16 frames, pushed in by the benchmark, so the stream never waits;
/// its cost is included, spread over the 16 writes (<c>OperationsPerInvoke</c>). <c>Encode</c>=true also encodes each
/// frame into a buffer as the real transport does; false drops it (session and protocol core only).
/// </remarks>
[MemoryDiagnoser]
public class SendPathBenchmarks
{
    private const int FramesPerCredit = 16;
    private NullTransport _transport = null!;
    private MuxSession _session = null!;
    private MuxStream _stream = null!;
    private byte[] _payload = null!;

    [Params(64, 1024, 16 * 1024, 64 * 1024)]
    public int PayloadSize { get; set; }

    [Params(false, true)]
    public bool Encode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _transport = new NullTransport(Encode);
        // A 4 MiB window holds 16 frames of 64 KiB, so that no write ever waits for the WNDINC that follows them.
        _session = MuxSession.Client(_transport.Transport, new MuxSessionOptions { WindowSize = 4 * 1024 * 1024 });
        _stream = _session.Open();
        _payload = new byte[PayloadSize];
    }

    [GlobalCleanup]
    public void Cleanup() => _session.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = FramesPerCredit)]
    public void WriteDataFrame()
    {
        for (int i = 0; i < FramesPerCredit; i++)
        {
            var write = _stream.WriteAsync(_payload);
            if (!write.IsCompletedSuccessfully)
            {
                write.AsTask().GetAwaiter().GetResult();
            }
        }
        _transport.Receive(Frame.WndInc(_stream.Id, (uint)(FramesPerCredit * PayloadSize)));
    }
}
