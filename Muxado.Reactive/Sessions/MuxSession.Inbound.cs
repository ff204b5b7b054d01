using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    /// <summary>The core's outputs, applied inside the session lock.</summary>
    private sealed class Sink(MuxSession session) : IProtocolSink
    {
        public void WriteFrame(in Frame frame) => session.WriteFrameLocked(frame);

        public IStreamSink? OnRemoteStreamOpened(uint id) => session.AdmitRemoteStreamLocked(id);

        public void OnRemoteGoAway(uint lastStreamId, ErrorCode code, string debug) => session._remoteGoAway = (code, debug);

        public void OnLimitHit(SessionLimit limit, uint streamId) => session.Telemetry.LimitHitLocked(limit, streamId);
    }

    /// <summary>Feeds the transport's frames into the core; the transport calls it serially.</summary>
    private sealed class InboundObserver(MuxSession session) : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
            SessionFault? fault;
            using (session.Lock.Enter())
            {
                if (session._end is not null)
                {
                    // Read while the transport lingers for our GOAWAY to leave: the session has ended and ignores it, so it
                    // is neither logged nor counted (a peer's GOAWAY answering our FIN would otherwise be logged after the
                    // end, or, racing the end's log line, before it).
                    return;
                }
                session.Telemetry.FrameReceivedLocked(value);
                fault = session.Core.Receive(value, session.NowTicks);
                if (fault is not null)
                {
                    session.Telemetry.ViolationLocked(fault, value);
                }
                session.RunPumpsAfterFrameLocked();
            }
            if (fault is not null)
            {
                session.Fault(fault);
            }
        }

        public void OnCompleted()
        {
            SessionFault fault;
            (ErrorCode Code, string Debug)? remote;
            using (session.Lock.Enter())
            {
                if (session._end is not null)
                {
                    return;
                }
                remote = session._remoteGoAway;
                fault = session.Core.TransportEnded();
            }
            // After the peer's clean GOAWAY, its EOF is the expected end of a clean close.
            if (remote is { Code: ErrorCode.NoError })
            {
                session.End(new SessionEnd(ErrorCode.PeerEOF, fault.Message, remote.Value.Code, remote.Value.Debug), lingerForGoAway: true);
                return;
            }
            session.Fault(fault);
        }

        public void OnError(Exception error)
        {
            SessionFault fault;
            using (session.Lock.Enter())
            {
                if (session._end is not null)
                {
                    return;
                }
                // A malformed frame's message becomes the GOAWAY debug text, as Go does.
                if (error is MuxadoException mux)
                {
                    fault = session.Core.Fail(mux.Code, mux.Message);
                    session.Telemetry.ViolationLocked(fault, frame: null);
                }
                else
                {
                    fault = session.Core.Fail(ErrorCode.InternalError, "transport failed: " + error.Message);
                }
            }
            session.Fault(fault, error);
        }
    }
}
