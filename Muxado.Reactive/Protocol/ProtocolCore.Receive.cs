using System.Globalization;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Protocol;

internal sealed partial class ProtocolCore
{
    /// <summary>
    /// Handles one frame from the peer. Returns a fault when the frame ends the session (its GOAWAY is
    /// already written); null otherwise.
    /// </summary>
    /// <param name="frame">The frame, as the reader decoded it (possibly truncated).</param>
    /// <param name="nowTicks">Current time in ticks, for the reply budget.</param>
    public SessionFault? Receive(in Frame frame, long nowTicks)
    {
        if (IsClosed)
        {
            return null;
        }
        return frame.Type switch
        {
            FrameType.Data => ReceiveData(frame, nowTicks),
            FrameType.Rst => ReceiveRst(frame, nowTicks),
            FrameType.WndInc => ReceiveWndInc(frame, nowTicks),
            FrameType.GoAway => ReceiveGoAway(frame, nowTicks),
            _ => Charge(nowTicks), // unknown types are skipped, but cost budget: they are free for a flooder
        };
    }

    /// <summary>The transport ended cleanly; as Go, tell the peer we read EOF (it may not hear it).</summary>
    public SessionFault TransportEnded() => Fail(ErrorCode.PeerEOF, "read EOF from remote peer");

    private SessionFault? ReceiveData(in Frame frame, long nowTicks)
    {
        StreamState? stream;
        if (frame.IsSyn)
        {
            var fault = AcceptSyn(frame, nowTicks, out stream);
            if (fault is not null || stream is null)
            {
                return fault;
            }
        }
        else if (!_streams.TryGetValue(frame.StreamId, out stream))
        {
            return ReceiveDataForEndedStream(frame, nowTicks);
        }

        if (stream.RemoteFinReceived)
        {
            // Go sends a second empty FIN when Close follows CloseWrite: harmless.
            return frame.Length == 0 && frame.IsFin ? null : ResetFromCore(stream, ErrorCode.StreamClosed, nowTicks);
        }

        if (frame.Length > 0)
        {
            // The window is checked on the declared length, before any payload was kept (PROTOCOL.md, "Limits").
            // It is the only check on arrival: memory across streams is bounded when streams are admitted.
            long afterThis = (long)stream.RecvBuffered + stream.RecvUncredited + frame.Length;
            if (frame.IsTruncated || afterThis > _options.WindowSize)
            {
                return ResetFromCore(stream, ErrorCode.FlowControlError, nowTicks);
            }
            stream.RecvBuffered += frame.Length;
            _totalBuffered += frame.Length;
            stream.Sink.OnData(frame.Payload);
        }
        else if (!frame.IsFin && !frame.IsSyn)
        {
            return Charge(nowTicks); // an empty DATA that says nothing
        }

        if (frame.IsFin)
        {
            stream.RemoteFinReceived = true;
            stream.Sink.OnRemoteFin();
            ForgetIfFinished(stream);
        }
        return null;
    }

    /// <summary>DATA without SYN for a stream that is not in the table (PROTOCOL.md, "Stream lifecycle").</summary>
    private SessionFault? ReceiveDataForEndedStream(in Frame frame, long nowTicks)
    {
        uint id = frame.StreamId;
        if (frame.Length == 0)
        {
            // An empty FIN is the normal tail of a close race (Go's second FIN after Close): ignored. Empty DATA
            // without FIN says nothing and is charged, wherever it goes.
            return frame.IsFin ? null : Charge(nowTicks);
        }
        if (_recentlyEnded.TryGet(id, out var how) && how != EndedStream.Finished)
        {
            if (how == EndedStream.ClosedByUs)
            {
                // The peer did not know we stopped reading: tell it once. Its later DATA crossed this RST.
                _sink.WriteFrame(Frame.Rst(id, ErrorCode.StreamClosed));
                _recentlyEnded.MarkReset(id);
            }
            return null; // racing an RST of ours: the peer already has its answer
        }
        return Reply(Frame.Rst(id, ErrorCode.StreamClosed), nowTicks);
    }

    private SessionFault? ReceiveRst(in Frame frame, long nowTicks)
    {
        if (_streams.TryGetValue(frame.StreamId, out var stream))
        {
            // Go only resets in answer to our frames (our SYN, our DATA); a reset nobody asked for, on a stream the
            // peer opened and we never wrote to, is the Rapid Reset shape and costs budget.
            bool answersUs = stream.IsLocal || stream.DataSent;
            Forget(stream, EndedStream.Finished);
            stream.Sink.OnReset(frame.ErrorCode, byPeer: true);
            return answersUs ? null : Charge(nowTicks);
        }
        // An RST for a stream that just ended crossed ours or answers our last DATA: free. Any other is noise.
        return _recentlyEnded.TryGet(frame.StreamId, out _) ? null : Charge(nowTicks);
    }

    private SessionFault? ReceiveWndInc(in Frame frame, long nowTicks)
    {
        if (!_streams.TryGetValue(frame.StreamId, out var stream))
        {
            return null; // credit for a stream that ended is the normal tail of a close: ignored
        }
        stream.SendWindow += frame.Increment;
        if (stream.SendWindow > int.MaxValue)
        {
            return ResetFromCore(stream, ErrorCode.FlowControlError, nowTicks);
        }
        stream.Sink.OnSendWindowOpened();
        return null;
    }

    private SessionFault? ReceiveGoAway(in Frame frame, long nowTicks)
    {
        uint last = frame.LastStreamId;
        if (GoAwayReceived)
        {
            // RFC 9113 §6.8: a later GOAWAY may lower the last stream id, never raise it; streams cut off by the
            // first one cannot come back.
            if (last > _remoteGoAwayLastId)
            {
                return Fail(ErrorCode.ProtocolError, Hex("GOAWAY last stream id went up from 0x", _remoteGoAwayLastId) + Hex(" to 0x", last));
            }
            // More of them are work for nothing (each scans the stream table).
            if (Charge(nowTicks) is { } fault)
            {
                return fault;
            }
        }
        GoAwayReceived = true;
        _remoteGoAwayLastId = last;
        // Our streams above the peer's last id were never processed by it: they end with RemoteGoneAway.
        var cut = _streams.Values.Where(s => s.IsLocal && s.Id > last).ToList();
        foreach (var stream in cut)
        {
            Forget(stream, EndedStream.Finished);
            stream.Sink.OnReset(ErrorCode.RemoteGoneAway, byPeer: true);
        }
        _sink.OnRemoteGoAway(last, frame.ErrorCode, frame.DebugText);
        return null;
    }

    /// <summary>
    /// Resets a stream for a violation found here and tells its sink. Every reset we are made to send costs
    /// budget, or resets become a free flood (MadeYouReset).
    /// </summary>
    private SessionFault? ResetFromCore(StreamState stream, ErrorCode code, long nowTicks)
    {
        if (Reply(Frame.Rst(stream.Id, code), nowTicks) is { } fault)
        {
            return fault; // the session is over: the shell ends every stream
        }
        Forget(stream, stream.RemoteFinReceived ? EndedStream.Finished : EndedStream.ResetByUs);
        stream.Sink.OnReset(code, byPeer: false);
        return null;
    }

    /// <summary>Writes a reply the peer forced, if the budget allows; over budget the GOAWAY goes out instead.</summary>
    private SessionFault? Reply(in Frame reply, long nowTicks)
    {
        var fault = Charge(nowTicks);
        if (fault is null)
        {
            _sink.WriteFrame(reply);
        }
        return fault;
    }

    /// <summary>Counts a frame that costs us a reply or work for nothing; over budget the session ends with EnhanceYourCalm.</summary>
    private SessionFault? Charge(long nowTicks)
    {
        if (_budget.TryCharge(nowTicks))
        {
            return null;
        }
        return Fail(ErrorCode.EnhanceYourCalm, string.Create(CultureInfo.InvariantCulture,
            $"too many frames forcing replies: more than {_options.ReplyBudgetBurst} at once or {_options.ReplyBudgetPerSecond} per second"));
    }

    private static string Hex(string prefix, uint id) => prefix + id.ToString("x", CultureInfo.InvariantCulture);
}
