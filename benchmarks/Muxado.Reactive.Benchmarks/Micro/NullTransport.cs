using System.Buffers;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>
/// A transport with no I/O for the session micro-benchmarks: inbound frames are pushed by the benchmark itself
/// (synchronously, on its own thread, as a transport's read loop would), outbound frames are dropped or just encoded.
/// </summary>
internal sealed class NullTransport
{
    private readonly Subject<Frame> _inbound = new();

    /// <param name="encode">Encode each outbound frame into a reused buffer, as the real writer does, instead of dropping it.</param>
    public NullTransport(bool encode)
    {
        Outbound = encode ? new EncodingObserver() : new DroppingObserver();
        Transport = FrameTransport.Create(_inbound, Outbound);
    }

    public FrameTransport Transport { get; }

    public IObserver<Frame> Outbound { get; }

    /// <summary>Delivers a frame "from the peer".</summary>
    public void Receive(in Frame frame) => _inbound.OnNext(frame);

    private sealed class DroppingObserver : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }

    /// <summary>Encodes like the coalescing writer (header and payload copied into one buffer), minus the socket.</summary>
    private sealed class EncodingObserver : IObserver<Frame>
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(512 * 1024);

        public void OnNext(Frame value)
        {
            if (_buffer.WrittenCount > 256 * 1024)
            {
                _buffer.ResetWrittenCount();
            }
            FrameWriter.Write(_buffer, value);
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
