using System.Text;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Protocol;

/// <summary>
/// The muxado session state machine, sans-IO (DESIGN.md layer 2): frames and application requests go in,
/// frames to write and stream events come out through an <see cref="IProtocolSink"/>. It owns the stream
/// table, id allocation, windows, GOAWAY state and limits.
/// </summary>
/// <remarks>
/// Not thread-safe: exactly one caller at a time (the session shell serialises every call under one lock).
/// No clock: the only time input is the <c>nowTicks</c> passed to <see cref="Receive"/>.
/// </remarks>
internal sealed partial class ProtocolCore
{
    // Go's empty frame of an unknown type that it swallows harmlessly after a GOAWAY (PROTOCOL.md,
    // "Talking to Go peers safely"): type 0xF, no body, stream 0.
    private const byte GoAwayPaddingType = 0xF;

    private readonly SessionRole _role;
    private readonly MuxSessionOptions _options;
    private readonly IProtocolSink _sink;
    private readonly Dictionary<uint, StreamState> _streams = [];
    private long _nextLocalId;
    private uint _lastRemoteId;
    private int _remoteOpenCount;
    private long _totalBuffered;
    private long? _budgetWindowStart;
    private int _budgetUsed;

    public ProtocolCore(SessionRole role, MuxSessionOptions options, IProtocolSink sink)
    {
        _role = role;
        _options = options;
        _sink = sink;
        // Go's first ids: client 3, server 2 (PROTOCOL.md, "Stream ids"); kept so transcripts compare byte for byte.
        _nextLocalId = role == SessionRole.Client ? 3 : 2;
    }

    /// <summary>True once the session is over (fault or shutdown): every later input is ignored.</summary>
    public bool IsClosed { get; private set; }
    public bool GoAwaySent { get; private set; }
    public bool GoAwayReceived { get; private set; }
    public int StreamCount => _streams.Count;
    public long BufferedBytes => _totalBuffered;

    /// <summary>The last id the peer opened, as Go reports it in GOAWAY (a Go server counts client id 1 as seen).</summary>
    public uint LastRemoteIdForGoAway => Math.Max(_lastRemoteId, _role == SessionRole.Server ? 1u : 0u);

    /// <summary>Allocates the next local id and sends the opening SYN (unless SYN rides on the first data).</summary>
    public ErrorCode TryOpen(IStreamSink sink, out uint id)
    {
        id = 0;
        if (IsClosed)
        {
            return ErrorCode.SessionClosed;
        }
        if (GoAwayReceived)
        {
            return ErrorCode.RemoteGoneAway;
        }
        if (_nextLocalId > Frame.MaxStreamId)
        {
            return ErrorCode.StreamsExhausted;
        }
        id = (uint)_nextLocalId;
        _nextLocalId += 2;
        var stream = new StreamState(id, isLocal: true, _options.WindowSize, sink) { SynPending = true };
        _streams.Add(id, stream);
        if (_options.OpenWithEmptySyn)
        {
            SendSyn(stream);
        }
        return ErrorCode.NoError;
    }

    /// <summary>The peer's window of stream <paramref name="id"/>: bytes it may be sent now; -1 for a stream the core no longer knows.</summary>
    public long SendWindowOf(uint id) => _streams.TryGetValue(id, out var stream) ? stream.SendWindow : -1;

    /// <summary>
    /// Sends as much of <paramref name="data"/> as the peer's window allows, at most <paramref name="maxBytes"/> (the
    /// room left in the shell's write queue); the caller waits for the rest.
    /// </summary>
    public SendResult Send(uint id, ReadOnlyMemory<byte> data, int maxBytes = int.MaxValue)
    {
        if (IsClosed)
        {
            return SendResult.Fail(ErrorCode.SessionClosed);
        }
        if (!_streams.TryGetValue(id, out var stream) || stream.LocalFinSent)
        {
            return SendResult.Fail(ErrorCode.StreamClosed);
        }
        int total = (int)Math.Min(Math.Min(data.Length, stream.SendWindow), maxBytes);
        int sent = 0;
        while (sent < total)
        {
            int chunk = Math.Min(total - sent, _options.MaxFramePayload);
            var flags = stream.SynPending ? FrameFlags.Syn : FrameFlags.None;
            stream.SynPending = false;
            _sink.WriteFrame(Frame.Data(id, data.Slice(sent, chunk), flags));
            sent += chunk;
        }
        stream.SendWindow -= total;
        return new SendResult(total, ErrorCode.NoError);
    }

    /// <summary>Half-closes: sends FIN (never on the SYN frame: Go would close its own sending side).</summary>
    public ErrorCode CloseWrite(uint id)
    {
        if (IsClosed)
        {
            return ErrorCode.SessionClosed;
        }
        if (!_streams.TryGetValue(id, out var stream))
        {
            return ErrorCode.StreamClosed;
        }
        if (!stream.LocalFinSent)
        {
            if (stream.SynPending)
            {
                SendSyn(stream);
            }
            stream.LocalFinSent = true;
            _sink.WriteFrame(Frame.Data(id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin));
            ForgetIfFinished(stream);
        }
        return ErrorCode.NoError;
    }

    /// <summary>Half-closes and stops reading: unread data is released, later data is refused with RST StreamClosed.</summary>
    public void Close(uint id)
    {
        if (IsClosed || !_streams.TryGetValue(id, out var stream))
        {
            return;
        }
        stream.LocalClosed = true;
        _totalBuffered -= stream.RecvBuffered;
        stream.RecvBuffered = 0;
        CloseWrite(id);
        ForgetIfFinished(stream);
    }

    /// <summary>Aborts both directions with RST <paramref name="code"/>; false if the stream was already gone.</summary>
    public bool Reset(uint id, ErrorCode code)
    {
        if (IsClosed || !_streams.TryGetValue(id, out var stream))
        {
            return false;
        }
        _sink.WriteFrame(Frame.Rst(id, code));
        Forget(stream);
        return true;
    }

    /// <summary>The application consumed <paramref name="count"/> bytes of stream <paramref name="id"/>: return credit, coalesced.</summary>
    /// <remarks>
    /// Credit goes back when the consumer is idle (nothing buffered) or when half the window is owed, so that
    /// a fast reader sends one WNDINC per burst, a slow one at most two per window, and the sender never stalls.
    /// No credit once the peer has sent FIN: it will not send again.
    /// </remarks>
    public void Consumed(uint id, int count)
    {
        if (IsClosed || count <= 0 || !_streams.TryGetValue(id, out var stream) || stream.LocalClosed)
        {
            return;
        }
        count = Math.Min(count, stream.RecvBuffered);
        stream.RecvBuffered -= count;
        _totalBuffered -= count;
        if (stream.RemoteFinReceived)
        {
            ForgetIfFinished(stream);
            return;
        }
        stream.RecvUncredited += count;
        if (stream.RecvUncredited > 0 && (stream.RecvBuffered == 0 || stream.RecvUncredited >= _options.WindowSize / 2))
        {
            _sink.WriteFrame(Frame.WndInc(id, (uint)stream.RecvUncredited));
            stream.RecvUncredited = 0;
        }
    }

    /// <summary>Sends GOAWAY: no new streams will be accepted from now on.</summary>
    /// <param name="code">The error code to report.</param>
    /// <param name="debug">The human-readable debug text.</param>
    /// <param name="sessionStaysOpen">Follow it with Go's padding frame, because more frames will follow.</param>
    public void GoAway(ErrorCode code, string debug, bool sessionStaysOpen)
    {
        if (IsClosed)
        {
            return;
        }
        GoAwaySent = true;
        _sink.WriteFrame(Frame.GoAway(LastRemoteIdForGoAway, code, Encoding.UTF8.GetBytes(debug)));
        if (sessionStaysOpen)
        {
            _sink.WriteFrame(Frame.Unknown(GoAwayPaddingType, FrameFlags.None, 0, ReadOnlyMemory<byte>.Empty));
        }
    }

    /// <summary>Ends the session for an error: writes GOAWAY(code, message) and closes the core.</summary>
    public SessionFault Fail(ErrorCode code, string message)
    {
        if (!IsClosed)
        {
            GoAway(code, message, sessionStaysOpen: false);
            Shutdown();
        }
        return new SessionFault(code, message);
    }

    /// <summary>Closes the core without writing anything; streams are the shell's to end.</summary>
    public void Shutdown()
    {
        IsClosed = true;
        _streams.Clear();
        _totalBuffered = 0;
    }

    private void SendSyn(StreamState stream)
    {
        stream.SynPending = false;
        _sink.WriteFrame(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
    }

    private void ForgetIfFinished(StreamState stream)
    {
        if (stream.BothSidesFinished && stream.RecvBuffered == 0)
        {
            Forget(stream);
        }
    }

    private void Forget(StreamState stream)
    {
        if (!_streams.Remove(stream.Id))
        {
            return;
        }
        _totalBuffered -= stream.RecvBuffered;
        stream.RecvBuffered = 0;
        if (!stream.IsLocal)
        {
            _remoteOpenCount--;
        }
    }
}
