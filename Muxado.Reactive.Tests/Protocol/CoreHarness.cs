using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>Drives a <see cref="ProtocolCore"/> frame by frame and records everything it outputs (h2's style).</summary>
/// <remarks>
/// Plays the shell's accept backlog as <c>MuxSession</c> does: peer streams wait in it until <see cref="Accept"/>,
/// a reset takes them out, and a new stream finds it full at <see cref="MuxSessionOptions.AcceptBacklog"/>.
/// </remarks>
internal sealed class CoreHarness : IProtocolSink
{
    private readonly HashSet<uint> _backlog = [];

    public CoreHarness(SessionRole role, MuxSessionOptions? options = null)
    {
        Options = (options ?? new MuxSessionOptions()).Validate();
        Core = new ProtocolCore(role, Options, this);
    }

    public MuxSessionOptions Options { get; }
    public ProtocolCore Core { get; }
    /// <summary>Peer streams not yet accepted.</summary>
    public int BacklogCount => _backlog.Count;
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

    /// <summary>The application accepts a peer stream: it leaves the backlog.</summary>
    public void Accept(uint id) => _backlog.Remove(id);

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
        if (_backlog.Count >= Options.AcceptBacklog)
        {
            return null;
        }
        _backlog.Add(id);
        var stream = new RecordingStream { Id = id, OnEnded = () => _backlog.Remove(id) };
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
    /// <summary>Called on reset (the harness's backlog drops the stream, as the shell's does).</summary>
    public Action? OnEnded { get; init; }

    public void OnData(ReadOnlyMemory<byte> data) => Data.AddRange(data.ToArray());
    public void OnRemoteFin() => Fin = true;
    public void OnReset(ErrorCode code, bool byPeer)
    {
        ResetWith = (code, byPeer);
        OnEnded?.Invoke();
    }
    public void OnSendWindowOpened() => WindowOpened++;
}
