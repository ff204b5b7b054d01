using System.Buffers;
using BenchmarkDotNet.Attributes;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>The frame codec alone, per frame kind: encode into a reused buffer, decode from a buffer.</summary>
/// <remarks>
/// Decoding a DATA frame is expected to allocate exactly its payload (the reader copies it so that it outlives the
/// transport's pooled buffer); everything else is expected to allocate nothing.
/// </remarks>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly ArrayBufferWriter<byte> _writer = new(128 * 1024);
    private readonly byte[] _span = new byte[128 * 1024];
    private Frame _frame;
    private ReadOnlySequence<byte> _encoded;

    public enum Kind
    {
        Data64,
        Data1K,
        Data16K,
        Data64K,
        WndInc,
        Rst,
        GoAway,
    }

    [Params(Kind.Data64, Kind.Data1K, Kind.Data16K, Kind.Data64K, Kind.WndInc, Kind.Rst, Kind.GoAway)]
    public Kind FrameKind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _frame = FrameKind switch
        {
            Kind.Data64 => Frame.Data(3, new byte[64]),
            Kind.Data1K => Frame.Data(3, new byte[1024]),
            Kind.Data16K => Frame.Data(3, new byte[16 * 1024]),
            Kind.Data64K => Frame.Data(3, new byte[64 * 1024]),
            Kind.WndInc => Frame.WndInc(3, 65536),
            Kind.Rst => Frame.Rst(3, ErrorCode.StreamCancelled),
            Kind.GoAway => Frame.GoAway(7, ErrorCode.NoError, "no error"),
            _ => throw new ArgumentOutOfRangeException(nameof(FrameKind)),
        };
        var bytes = new byte[_frame.WireLength];
        FrameWriter.Write(bytes, _frame);
        _encoded = new ReadOnlySequence<byte>(bytes);
    }

    /// <summary>What the coalescing writer does per frame: encode into an <see cref="IBufferWriter{T}"/>.</summary>
    [Benchmark]
    public int EncodeToBufferWriter()
    {
        _writer.ResetWrittenCount();
        FrameWriter.Write(_writer, _frame);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public int EncodeToSpan() => FrameWriter.Write(_span, _frame);

    /// <summary>What the read loop does per frame: parse the header and copy the body out of the pipe's buffer.</summary>
    [Benchmark]
    public int Decode()
    {
        var buffer = _encoded;
        FrameReader.TryRead(ref buffer, FrameReaderLimits.Default, out var frame, out _);
        return frame.Length;
    }
}
