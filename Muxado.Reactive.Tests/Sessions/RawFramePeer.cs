using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// The far end of a loopback TCP connection speaking raw muxado frames, as a Go client would put them on the wire:
/// frames are encoded with <see cref="FrameWriter"/> and sent in one socket write per call; replies are parsed with
/// <see cref="FrameReader"/>.
/// </summary>
internal sealed class RawFramePeer : IAsyncDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly FrameReaderLimits _limits = MuxSessionOptions.Default.ReaderLimits;

    private RawFramePeer(Socket socket)
    {
        _socket = socket;
        _input = PipeReader.Create(new NetworkStream(socket, ownsSocket: false));
    }

    /// <summary>A raw peer and the socket of the other end, for a session under test.</summary>
    public static async Task<(RawFramePeer Peer, Socket SessionSocket)> ConnectAsync()
    {
        var (peerSocket, sessionSocket) = await TcpSessionPair.ConnectSocketsAsync();
        return (new RawFramePeer(peerSocket), sessionSocket);
    }

    /// <summary>
    /// Encodes <paramref name="frames"/> into one buffer and hands it to the socket in one call; returns the number of
    /// send calls it took (more than one only if the kernel took part of the buffer).
    /// </summary>
    public async Task<int> SendAsync(IEnumerable<Frame> frames)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var frame in frames)
        {
            FrameWriter.Write(buffer, frame);
        }
        using var cts = new CancellationTokenSource(Generous);
        var bytes = buffer.WrittenMemory;
        int sent = 0;
        int calls = 0;
        while (sent < bytes.Length)
        {
            sent += await _socket.SendAsync(bytes[sent..], SocketFlags.None, cts.Token);
            calls++;
        }
        return calls;
    }

    /// <summary>The next frame the session sent; null at the end of the connection.</summary>
    public async Task<Frame?> ReadFrameAsync()
    {
        using var cts = new CancellationTokenSource(Generous);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _input.ReadAsync(cts.Token);
            }
            catch (IOException)
            {
                return null; // the session reset the connection after its GOAWAY's linger: the end, as EOF is
            }
            var buffer = result.Buffer;
            if (FrameReader.TryRead(ref buffer, _limits, out var frame, out long discard))
            {
                _input.AdvanceTo(buffer.Start);
                if (discard != 0)
                {
                    throw new InvalidDataException($"the session sent a frame longer than its own limits: {frame}");
                }
                return frame;
            }
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    throw new InvalidDataException($"the connection ended inside a frame ({buffer.Length} bytes left)");
                }
                _input.AdvanceTo(buffer.End);
                return null;
            }
            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Reads frames into <paramref name="answers"/> until <paramref name="done"/> holds (true) or the connection ends
    /// (false).
    /// </summary>
    public async Task<bool> ReadUntilAsync(StreamAnswers answers, Func<StreamAnswers, bool> done)
    {
        while (!done(answers))
        {
            if (await ReadFrameAsync() is not { } frame)
            {
                return false;
            }
            answers.Apply(frame);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        _socket.Dispose();
    }
}

/// <summary>What a session sent back, per stream: data, FIN, RST; and any GOAWAY.</summary>
internal sealed class StreamAnswers
{
    private readonly Dictionary<uint, Answer> _streams = [];

    public List<Frame> GoAways { get; } = [];

    /// <summary>Streams that got a FIN or a RST.</summary>
    public int Answered { get; private set; }

    public int ResetCount(ErrorCode code) => _streams.Values.Count(a => a.Reset == code);

    public int ResetCount() => _streams.Values.Count(a => a.Reset is not null);

    public Answer this[uint id] => _streams.TryGetValue(id, out var a) ? a : new Answer();

    public bool HasAnswered(uint id) => _streams.TryGetValue(id, out var a) && a.IsAnswered;

    public void Apply(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.GoAway:
                GoAways.Add(frame);
                return;
            case FrameType.Data:
            case FrameType.Rst:
                break;
            default:
                return; // window updates
        }
        if (!_streams.TryGetValue(frame.StreamId, out var answer))
        {
            _streams.Add(frame.StreamId, answer = new Answer());
        }
        bool wasAnswered = answer.IsAnswered;
        if (frame.Type == FrameType.Rst)
        {
            answer.Reset ??= frame.ErrorCode;
        }
        else
        {
            answer.Data.Write(frame.Payload.Span);
            answer.Fin |= frame.IsFin;
        }
        if (!wasAnswered && answer.IsAnswered)
        {
            Answered++;
        }
    }

    public override string ToString() =>
        $"{Answered} streams answered, {ResetCount()} reset, GOAWAYs: [{string.Join(", ", GoAways)}]";

    internal sealed class Answer
    {
        public MemoryStream Data { get; } = new();
        public bool Fin { get; set; }
        public ErrorCode? Reset { get; set; }
        public bool IsAnswered => Fin || Reset is not null;
    }
}
