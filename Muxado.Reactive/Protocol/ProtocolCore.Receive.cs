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
    /// <param name="nowTicks">Current time in ticks, for the reply-frame budget.</param>
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
            // An empty FIN for a forgotten stream is the normal tail of a close race: ignore it.
            if (frame.Length == 0 && frame.IsFin)
            {
                return null;
            }
            _sink.WriteFrame(Frame.Rst(frame.StreamId, ErrorCode.StreamClosed));
            return Charge(nowTicks);
        }

        if (stream.RemoteFinReceived || (stream.LocalClosed && frame.Length > 0))
        {
            // Go sends a second empty FIN when Close follows CloseWrite: harmless.
            if (frame.Length == 0 && frame.IsFin)
            {
                return null;
            }
            ResetFromCore(stream, ErrorCode.StreamClosed);
            return Charge(nowTicks);
        }

        if (frame.Length > 0)
        {
            // The window is checked on the declared length, before any payload was kept (PROTOCOL.md, "Limits").
            long afterThis = (long)stream.RecvBuffered + stream.RecvUncredited + frame.Length;
            if (frame.IsTruncated || afterThis > _options.WindowSize || _totalBuffered + frame.Length > _options.MaxBufferedBytes)
            {
                // Every reset we are made to send costs budget, or resets become a free flood (MadeYouReset).
                ResetFromCore(stream, ErrorCode.FlowControlError);
                return Charge(nowTicks);
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

    private SessionFault? AcceptSyn(in Frame frame, long nowTicks, out StreamState? stream)
    {
        stream = null;
        uint id = frame.StreamId;
        bool peerParity = (id % 2 == 1) == (_role == SessionRole.Server);
        if (!peerParity)
        {
            return Fail(ErrorCode.ProtocolError, Hex("initiated stream id has wrong parity for remote endpoint: 0x", id));
        }
        if (id <= _lastRemoteId || _streams.ContainsKey(id))
        {
            return Fail(ErrorCode.ProtocolError, Hex("initiated stream id was already used: 0x", id));
        }
        _lastRemoteId = id;

        ErrorCode refusal = GoAwaySent ? ErrorCode.StreamRefused
            : _remoteOpenCount >= _options.MaxIncomingStreams ? ErrorCode.StreamRefused
            : ErrorCode.NoError;
        if (refusal != ErrorCode.NoError)
        {
            // Refused streams are forgotten at once (Go keeps them registered); their payload is dropped.
            _sink.WriteFrame(Frame.Rst(id, refusal));
            return Charge(nowTicks);
        }

        // Registered before the shell hears of it: the shell may hand the stream to a waiting accept at once,
        // and that accept must find it to free its backlog slot.
        stream = new StreamState(id, isLocal: false, _options.WindowSize, sink: null);
        _streams.Add(id, stream);
        _remoteOpenCount++;
        if (_sink.OnRemoteStreamOpened(id) is not { } sink)
        {
            Forget(stream);
            stream = null;
            _sink.WriteFrame(Frame.Rst(id, ErrorCode.AcceptQueueFull));
            return Charge(nowTicks);
        }
        stream.Sink = sink;
        return null;
    }

    private SessionFault? ReceiveRst(in Frame frame, long nowTicks)
    {
        if (_streams.TryGetValue(frame.StreamId, out var stream))
        {
            Forget(stream);
            stream.Sink.OnReset(frame.ErrorCode, byPeer: true);
        }
        // Resets cost budget whether or not the stream exists: a reset flood is the Rapid Reset attack.
        return Charge(nowTicks);
    }

    private SessionFault? ReceiveWndInc(in Frame frame, long nowTicks)
    {
        if (!_streams.TryGetValue(frame.StreamId, out var stream))
        {
            return null;
        }
        stream.SendWindow += frame.Increment;
        if (stream.SendWindow > int.MaxValue)
        {
            ResetFromCore(stream, ErrorCode.FlowControlError);
            return Charge(nowTicks);
        }
        stream.Sink.OnSendWindowOpened();
        return null;
    }

    private SessionFault? ReceiveGoAway(in Frame frame, long nowTicks)
    {
        // One GOAWAY is news; more of them are work for nothing (each scans the stream table).
        if (GoAwayReceived && Charge(nowTicks) is { } fault)
        {
            return fault;
        }
        GoAwayReceived = true;
        uint last = frame.LastStreamId;
        // Our streams above the peer's last id were never processed by it: they end with RemoteGoneAway.
        var cut = _streams.Values.Where(s => s.IsLocal && s.Id > last).ToList();
        foreach (var stream in cut)
        {
            Forget(stream);
            stream.Sink.OnReset(ErrorCode.RemoteGoneAway, byPeer: true);
        }
        _sink.OnRemoteGoAway(last, frame.ErrorCode, frame.DebugText);
        return null;
    }

    /// <summary>Resets a stream for a violation found here, and tells its sink.</summary>
    private void ResetFromCore(StreamState stream, ErrorCode code)
    {
        _sink.WriteFrame(Frame.Rst(stream.Id, code));
        Forget(stream);
        stream.Sink.OnReset(code, byPeer: false);
    }

    /// <summary>Counts a frame that costs us a reply or work for nothing; over budget the session ends with EnhanceYourCalm.</summary>
    private SessionFault? Charge(long nowTicks)
    {
        if (_budgetWindowStart is not { } start || nowTicks - start >= _options.ReplyBudgetWindow.Ticks)
        {
            _budgetWindowStart = nowTicks;
            _budgetUsed = 0;
        }
        if (++_budgetUsed <= _options.ReplyFrameBudget)
        {
            return null;
        }
        return Fail(ErrorCode.EnhanceYourCalm, string.Create(CultureInfo.InvariantCulture,
            $"more than {_options.ReplyFrameBudget} frames forcing replies within {_options.ReplyBudgetWindow.TotalMilliseconds} ms"));
    }

    private static string Hex(string prefix, uint id) => prefix + id.ToString("x", CultureInfo.InvariantCulture);
}
