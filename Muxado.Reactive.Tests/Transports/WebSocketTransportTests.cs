using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Sessions;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// Sessions over WebSockets against a real Kestrel on 127.0.0.1 and a real <see cref="ClientWebSocket"/>: data both ways,
/// frames that span or share messages, both directions of the close handshake, and bad input.
/// </summary>
public class WebSocketTransportTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>What the server-side handler saw when its session ended.</summary>
    private sealed record ServerEnd(SessionEnd End, WebSocketCloseStatus? CloseStatus);

    /// <summary>Kestrel running one server session per WebSocket, echoing every stream until the session ends.</summary>
    private static Task<KestrelWebSockets> StartEchoServerAsync(TaskCompletionSource<ServerEnd> ended) =>
        KestrelWebSockets.StartAsync(async socket =>
        {
            await using var session = MuxSession.Create(socket, SessionRole.Server);
            var echoes = new List<Task>();
            try
            {
                await foreach (var stream in session.AcceptAllAsync())
                {
                    echoes.Add(StreamIO.EchoAsync(stream));
                }
            }
            catch (MuxadoException)
            {
                // The session ended with an error: reported through Completion below.
            }
            var end = await session.Completion;
            await Task.WhenAll(echoes.Select(e => e.ContinueWith(_ => { }, TaskScheduler.Default)));
            ended.TrySetResult(new ServerEnd(end, socket.CloseStatus));
        });

    [Test]
    public async Task Many_streams_echo_through_Kestrel_and_a_clean_close_ends_both_sides_with_a_normal_closure()
    {
        var serverEnded = new TaskCompletionSource<ServerEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartEchoServerAsync(serverEnded);
        using var socket = await server.ConnectAsync();
        var client = MuxSession.Create(socket, SessionRole.Client);

        var payloads = Enumerable.Range(0, 16).Select(i => StreamPayloads.Create(i, 64 * 1024 + i * 4099)).ToArray();
        var echoes = payloads.Select(async payload =>
        {
            var stream = client.Open();
            var reading = StreamIO.ReadToEndAsync(stream);
            await stream.WriteAsync(payload);
            await stream.CloseWriteAsync();
            return await reading;
        }).ToArray();
        var answers = await Task.WhenAll(echoes).WaitAsync(Generous);

        for (int i = 0; i < payloads.Length; i++)
        {
            Assert.That(SHA256.HashData(answers[i]), Is.EqualTo(SHA256.HashData(payloads[i])), $"stream {i} came back intact");
        }
        await client.DisposeAsync().AsTask().WaitAsync(Generous);
        var end = await serverEnded.Task.WaitAsync(Generous);
        Assert.That((end.End.LocalError, end.End.RemoteError), Is.EqualTo((ErrorCode.PeerEOF, ErrorCode.NoError)),
            "the server read our GOAWAY, then the WebSocket's end");
        Assert.That(end.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "our clean close sent a normal closure");
        Assert.That(client.Completion.Result.LocalError, Is.EqualTo(ErrorCode.NoError));
    }

    [Test]
    public async Task A_frame_split_over_messages_and_frames_sharing_a_message_read_as_one_byte_stream()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await KestrelWebSockets.StartAsync(async socket =>
        {
            await using var session = MuxSession.Create(socket, SessionRole.Server);
            var stream = await session.AcceptAsync().WaitAsync(Generous);
            received.TrySetResult(Encoding.ASCII.GetString(await StreamIO.ReadToEndAsync(stream)));
        });
        using var raw = await server.ConnectAsync();
        var wire = TestWire.Encode(
            Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn),
            Frame.Data(3, Encoding.ASCII.GetBytes("hello, ")),
            Frame.Data(3, Encoding.ASCII.GetBytes("world"), FrameFlags.Fin));

        // The SYN's header split over two messages, the rest of it and the first DATA in one, the last in a third.
        await raw.SendAsync(wire.AsMemory(0, 5), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        await raw.SendAsync(wire.AsMemory(5, 8 + 8 + 7 - 5), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        await raw.SendAsync(wire.AsMemory(8 + 8 + 7), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

        Assert.That(await received.Task.WaitAsync(Generous), Is.EqualTo("hello, world"));
    }

    [Test]
    public async Task A_close_from_the_peer_ends_the_session_with_peer_eof_and_is_answered()
    {
        var serverEnded = new TaskCompletionSource<ServerEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartEchoServerAsync(serverEnded);
        using var raw = await server.ConnectAsync();

        using var timeout = new CancellationTokenSource(Generous);
        await raw.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token); // waits for the answer

        var end = await serverEnded.Task.WaitAsync(Generous);
        Assert.That(end.End.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That((raw.State, raw.CloseStatus), Is.EqualTo((WebSocketState.Closed, WebSocketCloseStatus.NormalClosure)),
            "the session answered the peer's Close");
    }

    [Test]
    public async Task A_peer_that_vanishes_without_a_close_ends_the_session_with_peer_eof()
    {
        var serverEnded = new TaskCompletionSource<ServerEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartEchoServerAsync(serverEnded);
        var raw = await server.ConnectAsync();
        var client = MuxSession.Create(raw, SessionRole.Client);
        Assert.That(await StreamIO.ReadToEndAsync(await OpenAndSendAsync(client, "ping")).WaitAsync(Generous), Is.EqualTo(Encoding.ASCII.GetBytes("ping")));

        raw.Abort(); // the connection goes, with no Close and no GOAWAY

        var end = await serverEnded.Task.WaitAsync(Generous);
        Assert.That((end.End.LocalError, end.End.RemoteError), Is.EqualTo((ErrorCode.PeerEOF, (ErrorCode?)null)));
        await client.DisposeAsync();
    }

    private static async Task<MuxStream> OpenAndSendAsync(MuxSession client, string text)
    {
        var stream = client.Open();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text));
        await stream.CloseWriteAsync();
        return stream;
    }

    [Test]
    public async Task A_text_message_ends_the_session_with_a_protocol_error_that_says_so()
    {
        var serverEnded = new TaskCompletionSource<ServerEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartEchoServerAsync(serverEnded);
        using var raw = await server.ConnectAsync();

        await raw.SendAsync(Encoding.UTF8.GetBytes("{\"hello\":1}"), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

        var end = await serverEnded.Task.WaitAsync(Generous);
        Assert.That(end.End.LocalError, Is.EqualTo(ErrorCode.ProtocolError));
        Assert.That(end.End.Message, Does.Contain("text WebSocket message"));
        // The session told the peer why, in a binary message, before it closed.
        var frames = await ReadFramesUntilCloseAsync(raw);
        Assert.That(frames, Has.Some.Matches<Frame>(f => f.Type == FrameType.GoAway && f.ErrorCode == ErrorCode.ProtocolError));
    }

    [Test]
    public void Only_an_open_websocket_makes_a_transport()
    {
        using var closed = new ClientWebSocket();
        Assert.That(() => FrameTransport.FromWebSocket(closed), Throws.ArgumentException.With.Message.Contains("must be open"));
    }

    [Test]
    public async Task A_websocket_cannot_be_left_open_because_stopping_its_receive_would_abort_it()
    {
        await using var server = await KestrelWebSockets.StartAsync(socket => Task.Delay(TimeSpan.FromSeconds(5)));
        using var open = await server.ConnectAsync();
        Assert.That(() => FrameTransport.FromWebSocket(open, new FrameTransportOptions { LeaveOpen = true }),
            Throws.ArgumentException.With.Message.Contains("cannot be left open"));
        Assert.That(open.State, Is.EqualTo(WebSocketState.Open), "refused before anything touched it");
        open.Abort();
    }

    private static async Task<List<Frame>> ReadFramesUntilCloseAsync(ClientWebSocket raw)
    {
        var bytes = new List<byte>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(Generous);
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await raw.ReceiveAsync(buffer, timeout.Token);
            }
            catch (WebSocketException)
            {
                break; // the connection went without a Close: whatever came before it is in bytes
            }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
            bytes.AddRange(buffer.AsSpan(0, result.Count).ToArray());
        }
        return TestWire.Decode(new ReadOnlySequence<byte>(bytes.ToArray()));
    }
}
