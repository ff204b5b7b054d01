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
/// No clock: the only time input is the <c>nowTicks</c> passed to <see cref="Receive"/>. The accept backlog is
/// the shell's (<see cref="IProtocolSink.OnRemoteStreamOpened"/> refuses a stream when it is full).
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
    private readonly UnusedIdRanges _remoteIds = new();
    private readonly RecentlyEndedStreams _recentlyEnded = new();
    private readonly ReplyBudget _budget;
    private long _nextLocalId;
    private int _remoteOpenCount;
    private long _totalBuffered;
    private uint _remoteGoAwayLastId;

    public ProtocolCore(SessionRole role, MuxSessionOptions options, IProtocolSink sink)
    {
        _role = role;
        _options = options;
        _sink = sink;
        _budget = new ReplyBudget(options.ReplyBudgetBurst, options.ReplyBudgetPerSecond);
        // Go's first ids: client 3, server 2 (PROTOCOL.md, "Stream ids"); kept so transcripts compare byte for byte.
        _nextLocalId = role == SessionRole.Client ? 3 : 2;
    }

    /// <summary>True once the session is over (fault or shutdown): every later input is ignored.</summary>
    public bool IsClosed { get; private set; }
    public bool GoAwaySent { get; private set; }
    public bool GoAwayReceived { get; private set; }
    public int StreamCount => _streams.Count;
    /// <summary>Bytes received and not yet consumed, across all streams (statistics; not a limit).</summary>
    public long BufferedBytes => _totalBuffered;
    /// <summary>Ranges of never-used peer ids below the highest one (statistics and tests).</summary>
    public int UnusedIdRangeCount => _remoteIds.Count;
    /// <summary>Ended streams remembered for late frames (statistics and tests).</summary>
    public int RecentlyEndedCount => _recentlyEnded.Count;
    /// <summary>The streams in the table (tests check invariants on them).</summary>
    public IEnumerable<StreamState> Streams => _streams.Values;

    /// <summary>The highest id the peer opened, as Go reports it in GOAWAY (a Go server counts client id 1 as seen).</summary>
    public uint LastRemoteIdForGoAway => Math.Max(_remoteIds.Highest, _role == SessionRole.Server ? 1u : 0u);

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
    /// Sends as much of <paramref name="data"/> as the peer's window and <paramref name="maxBytes"/> allow; the
    /// caller waits for the rest.
    /// </summary>
    /// <param name="id">The stream.</param>
    /// <param name="data">The bytes; serialised by the sink before this returns.</param>
    /// <param name="maxBytes">At most this many bytes go out in this call (the shell passes the room left in its write queue).</param>
    public SendResult Send(uint id, ReadOnlyMemory<byte> data, int maxBytes = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (IsClosed)
        {
            return SendResult.Fail(ErrorCode.SessionClosed);
        }
        if (!_streams.TryGetValue(id, out var stream) || stream.LocalFinSent)
        {
            return SendResult.Fail(ErrorCode.StreamClosed);
        }
        int total = (int)Math.Min(Math.Min(data.Length, maxBytes), stream.SendWindow);
        int sent = 0;
        while (sent < total)
        {
            int chunk = Math.Min(total - sent, _options.MaxFramePayload);
            var flags = stream.SynPending ? FrameFlags.Syn : FrameFlags.None;
            stream.SynPending = false;
            stream.DataSent = true;
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
        SendFin(stream);
        ForgetIfFinished(stream);
        return ErrorCode.NoError;
    }

    /// <summary>
    /// Half-closes and stops reading; the stream leaves the table at once (it no longer counts against
    /// <see cref="MuxSessionOptions.MaxIncomingStreams"/>). Every byte received and not yet consumed counts as
    /// dropped unread.
    /// </summary>
    public void Close(uint id) => Close(id, int.MaxValue);

    /// <summary>
    /// Half-closes and stops reading; the stream leaves the table at once (it no longer counts against
    /// <see cref="MuxSessionOptions.MaxIncomingStreams"/>). PROTOCOL.md, "Stream lifecycle", Close: a close must
    /// never leave the peer's writer waiting for ever.
    /// </summary>
    /// <param name="id">The stream.</param>
    /// <param name="unreadBytes">Of the bytes received and not yet consumed, how many the application drops
    /// unread; the others it has read (a consumer that returns credit itself may not have reported them yet),
    /// so their credit is owed.</param>
    /// <remarks>
    /// The peer finished sending: FIN only (an RST would destroy the peer's read of our data). Unread bytes dropped:
    /// RST StreamClosed, as TCP's close with unread data; the peer's DATA still in flight is dropped silently.
    /// Otherwise FIN, plus a WNDINC for the credit owed, so that a writer stuck on its window sends again and
    /// meets our RST StreamClosed (the first late DATA gets it, later ones are dropped).
    /// </remarks>
    public void Close(uint id, int unreadBytes)
    {
        if (IsClosed || !_streams.TryGetValue(id, out var stream))
        {
            return;
        }
        if (stream.RemoteFinReceived)
        {
            SendFin(stream);
            Forget(stream, EndedStream.Finished);
            return;
        }
        if (Math.Min(unreadBytes, stream.RecvBuffered) > 0)
        {
            _sink.WriteFrame(Frame.Rst(id, ErrorCode.StreamClosed));
            Forget(stream, EndedStream.ResetByUs);
            return;
        }
        SendFin(stream);
        long owed = (long)stream.RecvBuffered + stream.RecvUncredited;
        if (owed > 0)
        {
            _sink.WriteFrame(Frame.WndInc(id, (uint)owed));
        }
        Forget(stream, EndedStream.ClosedByUs);
    }

    /// <summary>Aborts both directions with RST <paramref name="code"/>; false if the stream was already gone.</summary>
    public bool Reset(uint id, ErrorCode code)
    {
        if (IsClosed || !_streams.TryGetValue(id, out var stream))
        {
            return false;
        }
        _sink.WriteFrame(Frame.Rst(id, code));
        Forget(stream, stream.RemoteFinReceived ? EndedStream.Finished : EndedStream.ResetByUs);
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
        if (IsClosed || count <= 0 || !_streams.TryGetValue(id, out var stream))
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
        _remoteOpenCount = 0;
        _totalBuffered = 0;
    }

    private void SendSyn(StreamState stream)
    {
        stream.SynPending = false;
        _sink.WriteFrame(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
    }

    private void SendFin(StreamState stream)
    {
        if (stream.LocalFinSent)
        {
            return;
        }
        if (stream.SynPending)
        {
            SendSyn(stream);
        }
        stream.LocalFinSent = true;
        stream.DataSent = true;
        _sink.WriteFrame(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin));
    }

    private void ForgetIfFinished(StreamState stream)
    {
        if (stream.BothSidesFinished && stream.RecvBuffered == 0)
        {
            Forget(stream, EndedStream.Finished);
        }
    }

    /// <summary>Takes the stream out of the table and remembers how it ended, for the peer's late frames.</summary>
    private void Forget(StreamState stream, EndedStream how)
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
        _recentlyEnded.Add(stream.Id, how);
    }
}
