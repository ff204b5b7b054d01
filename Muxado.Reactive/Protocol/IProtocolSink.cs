using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Protocol;

/// <summary>
/// Where <see cref="ProtocolCore"/> sends its outputs. The core calls these from inside its caller's
/// serialised section; implementations must only record or enqueue, never call application code.
/// </summary>
internal interface IProtocolSink
{
    /// <summary>A frame to write, in order.</summary>
    void WriteFrame(in Frame frame);

    /// <summary>
    /// The peer opened stream <paramref name="id"/>; returns the sink for its events, or null when the shell's
    /// accept queue is full: the core then answers RST AcceptQueueFull and forgets the stream (its id stays used).
    /// </summary>
    /// <remarks>Must not call back into the core: the stream is registered after this returns.</remarks>
    IStreamSink? OnRemoteStreamOpened(uint id);

    /// <summary>The peer sent GOAWAY.</summary>
    void OnRemoteGoAway(uint lastStreamId, ErrorCode code, string debug);

    /// <summary>The peer's stream <paramref name="streamId"/> was refused because of <paramref name="limit"/> (for logs and metrics).</summary>
    void OnLimitHit(SessionLimit limit, uint streamId)
    {
    }
}

/// <summary>Events of one stream, from <see cref="ProtocolCore"/>.</summary>
internal interface IStreamSink
{
    /// <summary>Payload for the application; the memory is owned by the receiver.</summary>
    void OnData(ReadOnlyMemory<byte> data);

    /// <summary>The peer half-closed: no more data will come.</summary>
    void OnRemoteFin();

    /// <summary>The stream is gone: reset by the peer, by us for a violation, or cut off by GOAWAY.</summary>
    void OnReset(ErrorCode code, bool byPeer);

    /// <summary>The send window grew.</summary>
    void OnSendWindowOpened();
}
