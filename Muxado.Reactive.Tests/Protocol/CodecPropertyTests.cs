using System.Buffers;
using System.IO.Pipelines;
using CsCheck;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// The codec as the transport uses it: any sequence of valid frames, written with <see cref="FrameWriter"/> and
/// cut into random pieces, comes out of <see cref="FrameReadLoop"/> as the same frames (truncated exactly where the
/// reader limits say), and a stream cut short delivers every whole frame before its PeerEOF.
/// </summary>
public class CodecPropertyTests
{
    // Small limits, so that generated frames cross them often (and the discard path runs across pieces).
    private static readonly FrameReaderLimits Limits = new(MaxDataLength: 64, MaxDebugLength: 16, MaxUnknownLength: 32);

    private static readonly Gen<uint> StreamId = Gen.Frequency((3, Gen.UInt[1, 20]), (1, Gen.UInt[1, Frame.MaxStreamId]));
    private static readonly Gen<byte[]> Body = Gen.Byte.Array[Gen.Frequency((4, Gen.Int[0, 80]), (1, Gen.Int[0, 300]))];
    private static readonly Gen<FrameFlags> Flags = Gen.Int[0, 15].Select(f => (FrameFlags)f);

    private static readonly Gen<Frame> AnyFrame = Gen.OneOf(
        Gen.Select(StreamId, Body, Flags, (id, body, flags) => Frame.Data(id, body, flags)),
        Gen.Select(StreamId, Gen.UInt, (id, code) => Frame.Rst(id, (ErrorCode)code)),
        Gen.Select(StreamId, Gen.UInt[1, 0x7FFFFFFF], (id, inc) => Frame.WndInc(id, inc)),
        Gen.Select(Gen.UInt[0, Frame.MaxStreamId], Gen.UInt, Gen.Byte.Array[0, 40], (last, code, debug) => Frame.GoAway(last, (ErrorCode)code, debug)),
        Gen.Select(Gen.Int[4, 15], Flags, Gen.UInt[0, Frame.MaxStreamId], Body, (type, flags, id, body) => Frame.Unknown((byte)type, flags, id, body)));

    private static readonly Gen<(Frame[] Frames, int[] Cuts)> Conversation =
        Gen.Select(AnyFrame.Array[0, 30], Gen.Int[1, 40].Array[0, 40]);

    [Test]
    public void Frames_cut_into_random_pieces_parse_back_to_the_same_frames()
    {
        Conversation.Sample(c =>
        {
            var bytes = Encode(c.Frames);
            var (read, error) = ReadAll(bytes, c.Cuts);
            Assert.That(error, Is.Null);
            Assert.That(read, Is.EqualTo(c.Frames.Select(AsReadWithLimits)));
        }, iter: 300, threads: 1, print: Print);
    }

    [Test]
    public void A_stream_cut_short_delivers_every_whole_frame_then_ends_with_peer_eof()
    {
        Gen.Select(Conversation, Gen.Double[0.0, 1.0]).Sample((c, where) =>
        {
            var bytes = Encode(c.Frames);
            int length = (int)(where * bytes.Length);
            var (read, error) = ReadAll(bytes[..length], c.Cuts);

            // The frames whose kept part lies within the first `length` bytes: a truncated frame is handed out
            // as soon as its header is in (its body is drained as it streams past), so it may precede the cut.
            var whole = new List<Frame>();
            int offset = 0;
            foreach (var frame in c.Frames)
            {
                var expected = AsReadWithLimits(frame);
                int kept = expected.IsTruncated ? (expected.Type == FrameType.GoAway ? Frame.GoAwayFixedLength + expected.Payload.Length : 0) : frame.Length;
                if (offset + Frame.HeaderLength + kept > length)
                {
                    break;
                }
                whole.Add(expected);
                offset += frame.WireLength;
                if (offset > length)
                {
                    break;
                }
            }
            Assert.That(read, Is.EqualTo(whole));
            if (offset == length)
            {
                Assert.That(error, Is.Null, "cut at a frame boundary: a clean end");
            }
            else
            {
                Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
            }
        }, iter: 300, threads: 1);
    }

    [Test]
    public void A_truncated_frame_keeps_its_header_and_length_and_the_next_frame_parses()
    {
        // The shrunk shape of the properties above, kept as a plain example: an oversized DATA split mid-body.
        var frames = new[] { Frame.Data(1, new byte[100], FrameFlags.Syn), Frame.Rst(1, ErrorCode.StreamClosed) };
        var (read, error) = ReadAll(Encode(frames), [9, 50, 3]);
        Assert.That(error, Is.Null);
        Assert.That(read, Is.EqualTo(new[] { Frame.Decoded(FrameType.Data, FrameFlags.Syn, 1, default, 0, 0, 100), frames[1] }));
        Assert.That(read[0].IsTruncated, Is.True);
    }

    [Test]
    public void An_oversized_data_frame_cut_by_the_end_of_the_stream_is_handed_out_before_the_peer_eof()
    {
        // Found by the property above (its first model expected nothing): the header alone makes a truncated
        // frame, so the session can reset the stream although the transport then ends inside the drained body.
        var bytes = Encode([Frame.Data(7, new byte[100])]);
        var (read, error) = ReadAll(bytes[..50], [20, 20]);
        Assert.That(read, Is.EqualTo(new[] { Frame.Decoded(FrameType.Data, FrameFlags.None, 7, default, 0, 0, 100) }));
        Assert.That(error, Is.TypeOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(error!.Message, Is.EqualTo("the transport ended in the middle of a frame: 58 more bytes were expected"));
    }

    private static string Print((Frame[] Frames, int[] Cuts) c) =>
        $"frames: [{string.Join(", ", c.Frames)}] cuts: [{string.Join(", ", c.Cuts)}]";

    private static byte[] Encode(IEnumerable<Frame> frames)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (var frame in frames)
        {
            FrameWriter.Write(writer, frame);
        }
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>What the reader must return for <paramref name="frame"/> under <see cref="Limits"/>.</summary>
    private static Frame AsReadWithLimits(Frame frame) => frame.Type switch
    {
        FrameType.Data when frame.Length > Limits.MaxDataLength =>
            Frame.Decoded(frame.Type, frame.Flags, frame.StreamId, default, 0, 0, frame.Length),
        FrameType.GoAway when frame.Payload.Length > Limits.MaxDebugLength =>
            Frame.Decoded(frame.Type, frame.Flags, 0, frame.Payload[..Limits.MaxDebugLength], frame.Value, frame.LastStreamId, frame.Length),
        > FrameType.GoAway when frame.Length > Limits.MaxUnknownLength =>
            Frame.Decoded(frame.Type, frame.Flags, frame.StreamId, default, 0, 0, frame.Length),
        _ => frame,
    };

    /// <summary>Runs the transport's read loop over <paramref name="bytes"/>, delivered in pieces of the given sizes.</summary>
    private static (List<Frame> Frames, Exception? Error) ReadAll(byte[] bytes, int[] cuts)
    {
        var frames = new List<Frame>();
        var loop = new FrameReadLoop(new PiecewiseReader(bytes, cuts), Limits, frame =>
        {
            frames.Add(frame);
            return true;
        });
        try
        {
            // Every read completes synchronously: the loop runs to its end inside this call.
            var task = loop.RunAsync(CancellationToken.None);
            Assert.That(task.IsCompleted, Is.True);
            Assert.That(task.GetAwaiter().GetResult(), Is.True, "ran to the end of the stream");
            return (frames, null);
        }
        catch (MuxadoException ex)
        {
            return (frames, ex);
        }
    }

    /// <summary>
    /// A <see cref="PipeReader"/> that hands out one more piece of a fixed byte stream on every read, keeping what
    /// was not consumed, as a pipe does; the pieces are separate buffer segments.
    /// </summary>
    private sealed class PiecewiseReader : PipeReader
    {
        private readonly ReadOnlySequence<byte> _all;
        private readonly List<SequencePosition> _pieceEnds = [];
        private SequencePosition _consumed;
        private int _delivered;

        public PiecewiseReader(byte[] bytes, int[] cuts)
        {
            Segment? first = null;
            Segment? last = null;
            int offset = 0;
            for (int i = 0; offset < bytes.Length; i++)
            {
                int size = i < cuts.Length ? Math.Min(cuts[i], bytes.Length - offset) : bytes.Length - offset;
                var piece = new ReadOnlyMemory<byte>(bytes, offset, size);
                last = last is null ? (first = new Segment(piece, 0)) : last.Append(piece);
                offset += size;
            }
            _all = first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
            for (var segment = first; segment is not null; segment = (Segment?)segment.Next)
            {
                _pieceEnds.Add(_all.GetPosition(segment.RunningIndex + segment.Memory.Length));
            }
            _consumed = _all.Start;
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            TryRead(out var result);
            return new ValueTask<ReadResult>(result);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (_delivered < _pieceEnds.Count)
            {
                _delivered++;
            }
            var end = _delivered == 0 ? _all.Start : _pieceEnds[_delivered - 1];
            result = new ReadResult(_all.Slice(_consumed, end), isCanceled: false, isCompleted: _delivered == _pieceEnds.Count);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => _consumed = consumed;

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _consumed = consumed;

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
