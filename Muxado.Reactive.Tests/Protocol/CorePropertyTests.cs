using CsCheck;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// The core under random sequences of peer frames (well-formed and hostile) and application calls, checked
/// against a model built only from what goes in and what comes out: no exception escapes, send windows stay within
/// 0..2^31-1, every stream ends once (reset xor finished, never twice, no event after its end), and each stream is
/// handed exactly the payload bytes the window rules accept, in order.
/// </summary>
public class CorePropertyTests
{
    private const int Window = 1024;

    internal enum Kind
    {
        PeerSyn, PeerData, PeerEmpty, PeerTruncated, PeerRst, PeerWndInc, PeerGoAway, PeerUnknown,
        Open, Send, Consume, Close, CloseWrite, Reset, GoAway, Accept, Tick,
    }

    /// <summary>One step: a peer frame or an application call; A, B, C are its parameters.</summary>
    internal readonly record struct Op(Kind Kind, int A, int B, int C)
    {
        public override string ToString() => $"{Kind}({A},{B},{C})";
    }

    private static readonly Gen<int> IdIndex = Gen.Int[0, 19];
    private static readonly Gen<int> Length = Gen.Frequency((5, Gen.Int[0, 200]), (2, Gen.Int[0, Window + 100]), (1, Gen.Int[Window - 2, Window + 2]));

    private static readonly Gen<Op> AnyOp = Gen.Frequency(
        (8, Gen.Select(IdIndex, Length, Gen.Int[0, 1], (a, b, c) => new Op(Kind.PeerSyn, a, b, c))),
        (12, Gen.Select(IdIndex, Length, Gen.Int[0, 3], (a, b, c) => new Op(Kind.PeerData, a, b, c))),
        (1, IdIndex.Select(a => new Op(Kind.PeerEmpty, a, 0, 0))),
        (1, Gen.Select(IdIndex, Gen.Int[1, 5000], (a, b) => new Op(Kind.PeerTruncated, a, b, 0))),
        (3, Gen.Select(IdIndex, Gen.Int[0, 16], (a, b) => new Op(Kind.PeerRst, a, b, 0))),
        (5, Gen.Select(IdIndex, Gen.Int[0, 4], (a, b) => new Op(Kind.PeerWndInc, a, b, 0))),
        (1, Gen.Select(Gen.Int[0, 20], Gen.Int[0, 2], (a, b) => new Op(Kind.PeerGoAway, a, b, 0))),
        (1, Gen.Const(new Op(Kind.PeerUnknown, 0, 0, 0))),
        (4, Gen.Const(new Op(Kind.Open, 0, 0, 0))),
        (8, Gen.Select(IdIndex, Gen.Int[0, 1500], Gen.Int[0, 2], (a, b, c) => new Op(Kind.Send, a, b, c))),
        (8, Gen.Select(IdIndex, Gen.Int[1, 1200], (a, b) => new Op(Kind.Consume, a, b, 0))),
        (3, Gen.Select(IdIndex, Gen.Int[0, 1], (a, b) => new Op(Kind.Close, a, b, 0))),
        (3, IdIndex.Select(a => new Op(Kind.CloseWrite, a, 0, 0))),
        (2, IdIndex.Select(a => new Op(Kind.Reset, a, 0, 0))),
        (1, Gen.Const(new Op(Kind.GoAway, 0, 0, 0))),
        (4, IdIndex.Select(a => new Op(Kind.Accept, a, 0, 0))),
        (2, Gen.Int[1, 500].Select(a => new Op(Kind.Tick, a, 0, 0))));

    private static readonly Gen<(bool Server, bool EmptySyn, int MaxBuffered, Op[] Ops)> Run =
        Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[1, 5], AnyOp.Array[1, 120], (server, emptySyn, windows, ops) => (server, emptySyn, windows * Window, ops));

    [Test]
    public void Random_frames_and_calls_keep_every_invariant()
    {
        Run.Sample(r => new Model(r.Server, r.EmptySyn, r.MaxBuffered).Apply(r.Ops), iter: 1500, threads: 1,
            print: r => $"server={r.Server} emptySyn={r.EmptySyn} maxBuffered={r.MaxBuffered} ops=[{string.Join(", ", r.Ops)}]");
    }

    /// <summary>The core with an oracle around it.</summary>
    private sealed class Model : IProtocolSink
    {
        private readonly ProtocolCore _core;
        private readonly MuxSessionOptions _options;
        private readonly bool _server;
        private readonly Dictionary<uint, ModelStream> _streams = [];
        private readonly HashSet<uint> _backlog = [];
        private readonly List<string> _events = [];
        private readonly List<Frame> _written = [];
        private long _now;
        private byte _nextByte;
        private Op _op;

        public Model(bool server, bool emptySyn, int maxBuffered)
        {
            _server = server;
            _options = new MuxSessionOptions
            {
                WindowSize = Window, MaxFramePayload = 300, MaxIncomingStreams = 3, AcceptBacklog = 2,
                MaxBufferedBytes = maxBuffered, OpenWithEmptySyn = emptySyn, ReplyBudgetBurst = 25, ReplyBudgetPerSecond = 20,
            }.Validate();
            _core = new ProtocolCore(server ? SessionRole.Server : SessionRole.Client, _options, this);
        }

        public void Apply(Op[] ops)
        {
            for (int i = 0; i < ops.Length; i++)
            {
                _op = ops[i];
                _events.Clear();
                _written.Clear();
                Step(_op);
                CheckInvariants($"after step {i} {_op}");
            }
        }

        private static uint Id(int index) => (uint)index + 1;

        private bool IsPeerId(uint id) => (id % 2 == 1) == _server;

        private void Step(Op op)
        {
            uint id = Id(op.A);
            switch (op.Kind)
            {
                case Kind.PeerSyn:
                    ReceiveData(Frame.Data(id, Payload(op.B), FrameFlags.Syn | (op.C == 1 ? FrameFlags.Fin : 0)));
                    break;
                case Kind.PeerData:
                    ReceiveData(Frame.Data(id, Payload(op.B), op.C == 1 ? FrameFlags.Fin : FrameFlags.None));
                    break;
                case Kind.PeerEmpty:
                    ReceiveData(Frame.Data(id, ReadOnlyMemory<byte>.Empty));
                    break;
                case Kind.PeerTruncated:
                    ReceiveData(Frame.Decoded(FrameType.Data, FrameFlags.None, id, default, 0, 0, Window + op.B));
                    break;
                case Kind.PeerRst:
                    ReceiveOther(Frame.Rst(id, (ErrorCode)op.B));
                    break;
                case Kind.PeerWndInc:
                    ReceiveWndInc(Frame.WndInc(id, op.B switch { 0 => 1u, 1 => 512u, 2 => (uint)Window, 3 => 0x7FFFFFFFu, _ => 0x40000000u }));
                    break;
                case Kind.PeerGoAway:
                    ReceiveGoAway(Frame.GoAway((uint)op.A, (ErrorCode)op.B, "bye"));
                    break;
                case Kind.PeerUnknown:
                    ReceiveOther(Frame.Unknown(0xC, FrameFlags.None, 0, new byte[3]));
                    break;
                case Kind.Open:
                    Open();
                    break;
                case Kind.Send:
                    Send(id, op.B, op.C switch { 0 => int.MaxValue, 1 => 0, _ => op.B / 3 });
                    break;
                case Kind.Consume:
                    Consume(id, op.B);
                    break;
                case Kind.Close:
                    EndByApplication(id, () => { if (op.B == 0) { _core.Close(id); } else { _core.Close(id, unreadBytes: 0); } });
                    break;
                case Kind.CloseWrite:
                    CloseWrite(id);
                    break;
                case Kind.Reset:
                    EndByApplication(id, () => _core.Reset(id, ErrorCode.StreamCancelled));
                    break;
                case Kind.GoAway:
                    _core.GoAway(ErrorCode.NoError, "draining", sessionStaysOpen: true);
                    NoStreamEvents();
                    break;
                case Kind.Accept:
                    _backlog.Remove(id);
                    break;
                case Kind.Tick:
                    _now += op.A * TimeSpan.TicksPerMillisecond;
                    break;
            }
        }

        private ReadOnlyMemory<byte> Payload(int length)
        {
            var bytes = new byte[length];
            for (int i = 0; i < length; i++)
            {
                bytes[i] = _nextByte++;
            }
            return bytes;
        }

        // ------------------------------------------------------------ peer frames

        private void ReceiveData(Frame frame)
        {
            uint id = frame.StreamId;
            var before = Live(id);
            bool wasOpen = before is not null;
            long outstanding = before is null ? 0 : before.Delivered - before.Credited; // buffered + uncredited
            bool finBefore = before?.RemoteFin ?? false;
            var fault = _core.Receive(frame, _now);
            var stream = _streams.GetValueOrDefault(id);
            bool openedNow = frame.IsSyn && !wasOpen && stream is not null && _events.Contains($"opened {id}");

            var data = _events.Where(e => e.StartsWith("data ", StringComparison.Ordinal)).ToList();
            Require(data.Count <= 1, "at most one delivery per frame");
            Require(_events.All(e => e.EndsWith($" {id}", StringComparison.Ordinal) || e.StartsWith($"data {id} ", StringComparison.Ordinal) || e.StartsWith($"reset {id} ", StringComparison.Ordinal)),
                "only the frame's own stream hears of it");
            Require(!frame.IsSyn || !wasOpen || fault is not null, "a SYN for an open stream ends the session");

            var target = openedNow ? stream : before;
            bool receivable = target is not null && !finBefore && fault is null;
            if (receivable && frame.Length > 0)
            {
                bool fits = !frame.IsTruncated && outstanding + frame.Length <= Window;
                if (fits)
                {
                    Require(data.Count == 1, $"a frame within the window is delivered ({outstanding} + {frame.Length})");
                }
                else
                {
                    Require(data.Count == 0, "a frame beyond the window is not delivered");
                    Require(target!.EndedBy == $"reset {ErrorCode.FlowControlError} by us", $"a frame beyond the window resets with FlowControlError, got {target.EndedBy}");
                }
            }
            else if (frame.Length > 0 && target is not null && finBefore && fault is null)
            {
                Require(target.EndedBy == $"reset {ErrorCode.StreamClosed} by us", "data after FIN resets with StreamClosed");
            }
            else
            {
                Require(data.Count == 0, "nothing delivered to a stream that cannot receive");
            }
            if (data.Count == 1)
            {
                Require(target is not null && data[0] == $"data {id} {frame.Length}", "delivered to the frame's stream, whole");
            }
            Require(!_events.Contains($"fin {id}") || (frame.IsFin && target is not null), "FIN only from a FIN frame");
        }

        private void ReceiveWndInc(Frame frame)
        {
            var stream = Live(frame.StreamId);
            long before = stream?.SendWindow ?? 0;
            var fault = _core.Receive(frame, _now);
            if (stream is null || fault is not null)
            {
                Require(_events.Count == 0, "a WNDINC for no live stream changes nothing");
                return;
            }
            if (before + frame.Increment > int.MaxValue)
            {
                Require(stream.EndedBy == $"reset {ErrorCode.FlowControlError} by us", "a window beyond 2^31-1 resets with FlowControlError");
            }
            else
            {
                stream.SendWindow = before + frame.Increment;
                Require(_events.SequenceEqual([$"window {frame.StreamId}"]), "the sender hears of its window");
            }
        }

        private void ReceiveGoAway(Frame frame)
        {
            var fault = _core.Receive(frame, _now);
            if (fault is null)
            {
                foreach (var stream in _streams.Values.Where(s => s.Local && s.Id > frame.LastStreamId))
                {
                    Require(stream.EndedBy is not null, $"our stream {stream.Id} above the last id is cut off");
                }
            }
            Require(_events.All(e => e.StartsWith("reset ", StringComparison.Ordinal)), "GOAWAY only resets streams");
        }

        private void ReceiveOther(Frame frame)
        {
            var live = Live(frame.StreamId);
            _core.Receive(frame, _now);
            if (frame.Type == FrameType.Rst && live is not null && !_core.IsClosed)
            {
                Require(live.EndedBy == $"reset {frame.ErrorCode} by peer", "the peer's RST resets its stream");
            }
            Require(_events.All(e => e == $"reset {frame.StreamId} {frame.ErrorCode} peer"), "an RST touches only its stream");
        }

        // ------------------------------------------------------------ application calls

        private void Open()
        {
            var sink = new ModelStream(this);
            var code = _core.TryOpen(sink, out uint id);
            if (code == ErrorCode.NoError)
            {
                Require(!_streams.ContainsKey(id) && !IsPeerId(id), $"a fresh id of our parity, got {id}");
                sink.Id = id;
                sink.Local = true;
                sink.SendWindow = Window;
                _streams[id] = sink;
            }
            NoStreamEvents();
        }

        private void Send(uint id, int length, int maxBytes)
        {
            var stream = Live(id);
            var result = _core.Send(id, Payload(length), maxBytes);
            NoStreamEvents();
            if (stream is null || stream.LocalFin || _core.IsClosed)
            {
                Require(result.Failed, "no send on a stream that cannot send");
                return;
            }
            long expected = Math.Min(Math.Min(length, maxBytes), stream.SendWindow);
            Require(!result.Failed && result.BytesSent == expected, $"sent {result.BytesSent}, the window and the cap allow {expected}");
            var frames = _written.Where(f => f.Type == FrameType.Data && f.Length > 0).ToList();
            Require(frames.All(f => f.StreamId == id && f.Length <= _options.MaxFramePayload) && frames.Sum(f => f.Length) == expected, "the bytes go out on this stream in frames of at most MaxFramePayload");
            stream.SendWindow -= expected;
        }

        private void Consume(uint id, int count)
        {
            var stream = Live(id);
            _core.Consumed(id, count);
            NoStreamEvents();
            if (stream is not null)
            {
                stream.Consumed += Math.Min(count, stream.Delivered - stream.Consumed);
            }
        }

        private void CloseWrite(uint id)
        {
            var stream = Live(id);
            var code = _core.CloseWrite(id);
            NoStreamEvents();
            if (stream is not null && !_core.IsClosed)
            {
                Require(code == ErrorCode.NoError, "a live stream half-closes");
                stream.LocalFin = true;
            }
        }

        private void EndByApplication(uint id, Action call)
        {
            var stream = Live(id);
            call();
            NoStreamEvents();
            if (stream is not null && !_core.IsClosed)
            {
                stream.EndedBy = "the application";
                _backlog.Remove(id);
            }
        }

        private void NoStreamEvents() => Require(_events.Count == 0, "an application call tells no stream anything");

        // ------------------------------------------------------------ the model's view

        /// <summary>A stream the model believes is in the core's table.</summary>
        private ModelStream? Live(uint id) => _streams.TryGetValue(id, out var s) && s.EndedBy is null ? s : null;

        private void CheckInvariants(string where)
        {
            foreach (var state in _core.Streams)
            {
                Require(state.SendWindow is >= 0 and <= int.MaxValue, $"{where}: send window {state.SendWindow} of stream {state.Id}");
                var model = Live(state.Id);
                Require(model is not null, $"{where}: the core holds stream {state.Id} that has ended");
                Require(state.SendWindow == model!.SendWindow, $"{where}: send window {state.SendWindow}, model {model.SendWindow}");
                Require(model.Delivered - model.Credited is >= 0 and <= Window, $"{where}: buffered and uncredited within the window");
            }
            var inCore = _core.Streams.Select(s => s.Id).ToHashSet();
            foreach (var stream in _streams.Values.Where(s => s.EndedBy is null))
            {
                if (_core.IsClosed)
                {
                    stream.EndedBy = "the session";
                }
                else if (!inCore.Contains(stream.Id))
                {
                    // Left the table without a reset: only a stream finished both ways with nothing unread.
                    Require(stream.LocalFin && stream.RemoteFin && stream.Consumed == stream.Delivered,
                        $"{where}: stream {stream.Id} vanished (fin {stream.LocalFin}/{stream.RemoteFin}, consumed {stream.Consumed}/{stream.Delivered})");
                    stream.EndedBy = "finishing";
                }
            }
            if (_core.IsClosed)
            {
                Require(_core.StreamCount == 0, $"{where}: a closed core holds nothing");
            }
        }

        private static void Require(bool condition, string what)
        {
            if (!condition)
            {
                throw new InvalidOperationException(what);
            }
        }

        // ------------------------------------------------------------ the sink

        void IProtocolSink.WriteFrame(in Frame frame)
        {
            _written.Add(frame);
            if (frame.Type == FrameType.WndInc && _streams.TryGetValue(frame.StreamId, out var stream))
            {
                stream.Credited += frame.Increment;
            }
        }

        IStreamSink? IProtocolSink.OnRemoteStreamOpened(uint id)
        {
            Require(IsPeerId(id) && !_streams.ContainsKey(id), $"stream {id} opened once, by the peer");
            if (_backlog.Count >= _options.AcceptBacklog)
            {
                return null;
            }
            _backlog.Add(id);
            var stream = new ModelStream(this) { Id = id, SendWindow = Window };
            _streams[id] = stream;
            _events.Add($"opened {id}");
            return stream;
        }

        void IProtocolSink.OnRemoteGoAway(uint lastStreamId, ErrorCode code, string debug)
        {
        }

        /// <summary>One stream as the sink sees it, plus the model's bookkeeping.</summary>
        private sealed class ModelStream(Model model) : IStreamSink
        {
            public uint Id { get; set; }
            public bool Local { get; set; }
            public long SendWindow { get; set; }
            public long Delivered { get; set; }
            public long Consumed { get; set; }
            public long Credited { get; set; }
            public bool LocalFin { get; set; }
            public bool RemoteFin { get; private set; }
            /// <summary>Why the stream is over; null while it lives.</summary>
            public string? EndedBy { get; set; }

            public void OnData(ReadOnlyMemory<byte> data)
            {
                Alive("data");
                Require(!RemoteFin, $"data on stream {Id} after its FIN");
                Delivered += data.Length;
                model._events.Add($"data {Id} {data.Length}");
            }

            public void OnRemoteFin()
            {
                Alive("FIN");
                Require(!RemoteFin, $"a second FIN on stream {Id}");
                RemoteFin = true;
                model._events.Add($"fin {Id}");
            }

            public void OnReset(ErrorCode code, bool byPeer)
            {
                Alive("reset");
                EndedBy = $"reset {code} by {(byPeer ? "peer" : "us")}";
                model._backlog.Remove(Id);
                model._events.Add($"reset {Id} {code} {(byPeer ? "peer" : "us")}");
            }

            public void OnSendWindowOpened()
            {
                Alive("window");
                model._events.Add($"window {Id}");
            }

            private void Alive(string what) => Require(EndedBy is null, $"{what} on stream {Id} after it ended ({EndedBy})");
        }
    }
}
