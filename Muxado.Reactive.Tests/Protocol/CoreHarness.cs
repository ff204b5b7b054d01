using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>Drives a <see cref="ProtocolCore"/> frame by frame and records everything it outputs (h2's style).</summary>
internal sealed class CoreHarness : IProtocolSink
{
    private readonly int _backlog;
    private int _unaccepted;

    public CoreHarness(SessionRole role, MuxSessionOptions? options = null)
    {
        var validated = (options ?? new MuxSessionOptions()).Validate();
        _backlog = validated.AcceptBacklog;
        Core = new ProtocolCore(role, validated, this);
    }

    /// <summary>The application took a stream: like the session's accept backlog, it makes room for another.</summary>
    public void Accepted(uint id) => _unaccepted--;

    public ProtocolCore Core { get; }
    public List<Frame> Written { get; } = [];
    public Dictionary<uint, RecordingStream> Streams { get; } = [];
    public List<(uint Last, ErrorCode Code, string Debug)> GoAways { get; } = [];
    public long Now { get; set; }

    /// <summary>Feeds frames; returns the fault of the first that ended the session, if any.</summary>
    public SessionFault? Receive(params Frame[] frames)
    {
        foreach (var frame in frames)
        {
            var fault = Core.Receive(frame, Now);
            if (fault is not null)
            {
                return fault;
            }
        }
        return null;
    }

    /// <summary>The frames written since the last call.</summary>
    public List<Frame> TakeWritten()
    {
        var copy = Written.ToList();
        Written.Clear();
        return copy;
    }

    public RecordingStream OpenLocal()
    {
        var stream = new RecordingStream();
        var code = Core.TryOpen(stream, out uint id);
        Assert.That(code, Is.EqualTo(ErrorCode.NoError));
        stream.Id = id;
        Streams[id] = stream;
        return stream;
    }

    void IProtocolSink.WriteFrame(in Frame frame)
    {
        // Copy payloads: the caller's memory may be reused after the call (the real transport copies too).
        Written.Add(frame.Type == FrameType.Data ? Frame.Data(frame.StreamId, frame.Payload.ToArray(), frame.Flags) : frame);
    }

    IStreamSink? IProtocolSink.OnRemoteStreamOpened(uint id)
    {
        // The shell's backlog rule, as the session applies it when nobody takes streams.
        if (_unaccepted >= _backlog)
        {
            return null;
        }
        _unaccepted++;
        var stream = new RecordingStream { Id = id };
        Streams[id] = stream;
        return stream;
    }

    void IProtocolSink.OnRemoteGoAway(uint lastStreamId, ErrorCode code, string debug) => GoAways.Add((lastStreamId, code, debug));
}

internal sealed class RecordingStream : IStreamSink
{
    public uint Id { get; set; }
    public List<byte> Data { get; } = [];
    public bool Fin { get; private set; }
    public (ErrorCode Code, bool ByPeer)? ResetWith { get; private set; }
    public int WindowOpened { get; private set; }

    public void OnData(ReadOnlyMemory<byte> data) => Data.AddRange(data.ToArray());
    public void OnRemoteFin() => Fin = true;
    public void OnReset(ErrorCode code, bool byPeer) => ResetWith = (code, byPeer);
    public void OnSendWindowOpened() => WindowOpened++;
}
