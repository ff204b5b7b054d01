using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Protocol;

internal sealed partial class ProtocolCore
{
    /// <summary>
    /// A SYN from the peer: checks its id, admits the stream or refuses it. <paramref name="stream"/> is null when
    /// the stream was refused (the RST is written, the fault is the budget's if it ran out).
    /// </summary>
    private SessionFault? AcceptSyn(in Frame frame, long nowTicks, out StreamState? stream)
    {
        stream = null;
        uint id = frame.StreamId;
        bool peerIsClient = _role == SessionRole.Server;
        if ((id % 2 == 1) != peerIsClient)
        {
            return Fail(ErrorCode.ProtocolError, Hex("initiated stream id has wrong parity for remote endpoint: 0x", id));
        }
        // Any id never used is new, above the highest or not (PROTOCOL.md, "Stream ids": SYNs race onto the wire).
        if (!_remoteIds.TryUse(id, lowestOfParity: peerIsClient ? 1u : 2u))
        {
            return Fail(ErrorCode.ProtocolError, Hex("initiated stream id was already used: 0x", id));
        }

        // Admission: the peer's streams may each fill their window unread, so their windows together must fit in
        // MaxBufferedBytes; checked here, never on arrival, so that a peer within its windows is never reset.
        SessionLimit? limit = _remoteOpenCount >= _options.MaxIncomingStreams ? SessionLimit.MaxIncomingStreams
            : (long)(_remoteOpenCount + 1) * _options.WindowSize > _options.MaxBufferedBytes ? SessionLimit.MaxBufferedBytes
            : null;
        ErrorCode refusal = GoAwaySent || limit is not null ? ErrorCode.StreamRefused : ErrorCode.NoError;
        if (limit is not null && !GoAwaySent)
        {
            _sink.OnLimitHit(limit.Value, id); // after our GOAWAY every SYN is refused: no limit was hit
        }
        IStreamSink? sink = null;
        if (refusal == ErrorCode.NoError && (sink = _sink.OnRemoteStreamOpened(id)) is null)
        {
            refusal = ErrorCode.AcceptQueueFull; // the shell's accept backlog is full
        }
        if (refusal != ErrorCode.NoError)
        {
            // Refused streams are forgotten at once (Go keeps them registered); their payload is dropped, and so is
            // the DATA the peer sent after the SYN before it read our RST.
            _recentlyEnded.Add(id, EndedStream.ResetByUs);
            // Not charged: an honest peer opens faster than its application accepts (a Go client's burst meets a full
            // backlog, or SYNs in flight meet our GOAWAY), and each refusal cost the peer an id and a frame of its own,
            // so it amplifies nothing. A peer that stops reading our RSTs meets the write watchdog instead.
            _sink.WriteFrame(Frame.Rst(id, refusal));
            return null;
        }

        stream = new StreamState(id, isLocal: false, _options.WindowSize, sink);
        _streams.Add(id, stream);
        _remoteOpenCount++;
        return null;
    }
}
