using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>The pipe-based transport over real loopback TCP sockets.</summary>
[TestFixture]
public sealed class SocketTransportTests
{
    private Socket _clientSocket = null!;
    private Socket _serverSocket = null!;
    // Disposed in CloseAsync, with a timeout around DisposeAsync that NUnit1032 does not see through.
#pragma warning disable NUnit1032
    private FrameTransport _client = null!;
    private FrameTransport _server = null!;
#pragma warning restore NUnit1032

    [SetUp]
    public async Task ConnectAsync()
    {
        (_clientSocket, _serverSocket) = await TestWire.ConnectedSocketsAsync();
        _client = FrameTransport.FromSocket(_clientSocket);
        _server = FrameTransport.FromSocket(_serverSocket);
    }

    [TearDown]
    public async Task CloseAsync()
    {
        await _client.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
        await _server.DisposeAsync().AsTask().WaitAsync(RecordingObserver.Timeout);
    }

    [Test]
    public async Task A_frame_arrives_intact_both_ways()
    {
        var atServer = new RecordingObserver();
        var atClient = new RecordingObserver();
        using var s = _server.Inbound.Subscribe(atServer);
        using var c = _client.Inbound.Subscribe(atClient);
        var request = Frame.Data(3, Encoding.ASCII.GetBytes("ping"), FrameFlags.Syn);
        var reply = Frame.GoAway(3, ErrorCode.NoError, "no error");

        _client.Outbound.OnNext(request);
        await atServer.WaitForCountAsync(1);
        _server.Outbound.OnNext(reply);
        await atClient.WaitForCountAsync(1);

        Assert.That(atServer.Frames, Is.EqualTo(new[] { request }));
        Assert.That(atClient.Frames, Is.EqualTo(new[] { reply }));
        Assert.That(_clientSocket.NoDelay, Is.True);
    }

    [Test]
    public async Task A_full_window_DATA_frame_arrives_intact()
    {
        var atServer = new RecordingObserver();
        using var _ = _server.Inbound.Subscribe(atServer);
        var body = new byte[256 * 1024];
        Random.Shared.NextBytes(body);
        var big = Frame.Data(5, body, FrameFlags.Fin);

        _client.Outbound.OnNext(big);
        _client.Outbound.OnCompleted();

        Assert.That(await atServer.WaitDoneAsync(), Is.Null);
        Assert.That(atServer.Frames, Is.EqualTo(new[] { big }));
    }

    [Test]
    public async Task Frames_sent_from_four_threads_at_once_all_arrive_once_in_per_thread_order()
    {
        const int Threads = 4;
        const int PerThread = 2500;
        var atServer = new RecordingObserver();
        using var _ = _server.Inbound.Subscribe(atServer);

        using var start = new Barrier(Threads);
        var senders = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(RecordingObserver.Timeout);
            var payload = new byte[4 + (t * 10)];
            for (int i = 0; i < PerThread; i++)
            {
                // The same buffer every time: the transport must copy it before OnNext returns.
                BinaryPrimitives.WriteInt32BigEndian(payload, i);
                _client.Outbound.OnNext(Frame.Data((uint)t + 1, payload));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(senders).WaitAsync(RecordingObserver.Timeout);
        _client.Outbound.OnCompleted();

        Assert.That(await atServer.WaitDoneAsync(), Is.Null);
        var frames = atServer.Frames;
        Assert.That(frames, Has.Length.EqualTo(Threads * PerThread));
        for (int t = 0; t < Threads; t++)
        {
            var sequence = frames.Where(f => f.StreamId == t + 1).ToArray();
            Assert.That(sequence.Select(f => BinaryPrimitives.ReadInt32BigEndian(f.Payload.Span)), Is.EqualTo(Enumerable.Range(0, PerThread)),
                $"thread {t}: every frame once, in the order sent");
            Assert.That(sequence.All(f => f.Payload.Length == 4 + (t * 10)), Is.True);
        }
    }

    [Test]
    public async Task OnCompleted_half_closes_the_peer_sees_all_frames_then_completion_and_can_still_answer()
    {
        var atServer = new RecordingObserver();
        var atClient = new RecordingObserver();
        using var s = _server.Inbound.Subscribe(atServer);
        using var c = _client.Inbound.Subscribe(atClient);
        var frames = Enumerable.Range(1, 100).Select(i => Frame.WndInc((uint)i, (uint)i)).ToArray();

        foreach (var frame in frames)
        {
            _client.Outbound.OnNext(frame);
        }
        _client.Outbound.OnCompleted();
        Assert.That(await atServer.WaitDoneAsync(), Is.Null);
        Assert.That(atServer.Frames, Is.EqualTo(frames));

        // Only the client's sending direction is closed: the server's frames still reach it.
        _server.Outbound.OnNext(frames[0]);
        _server.Outbound.OnCompleted();
        Assert.That(await atClient.WaitDoneAsync(), Is.Null);
        Assert.That(atClient.Frames, Is.EqualTo(new[] { frames[0] }));
    }

    [Test]
    public async Task Writing_to_a_reset_connection_fails_Inbound_with_the_write_failure()
    {
        // Close the server's socket with a reset (linger 0), behind its transport's back.
        _serverSocket.LingerState = new LingerOption(true, 0);
        _serverSocket.Close();

        // Nobody reads yet, so only the writer can meet the reset; it closes our socket when it does.
        var chunk = Frame.Data(1, new byte[64 * 1024]);
        for (int i = 0; i < 10_000 && !_clientSocket.SafeHandle.IsClosed; i++)
        {
            _client.Outbound.OnNext(chunk);
            await _client.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        }
        Assert.That(_clientSocket.SafeHandle.IsClosed, Is.True, "the failed write closed the connection");

        var atClient = new RecordingObserver();
        using var _ = _client.Inbound.Subscribe(atClient);
        var error = await atClient.WaitDoneAsync();
        Assert.That(error, Is.InstanceOf<MuxadoException>());
        Assert.That(((MuxadoException)error!).Code, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(error.Message, Does.StartWith("write to transport failed"));
        Assert.That(() => _client.Outbound.OnNext(chunk), Throws.Nothing);
    }

    [Test]
    public async Task A_reset_while_reading_and_writing_ends_Inbound_and_never_hangs()
    {
        var atClient = new RecordingObserver();
        using var _ = _client.Inbound.Subscribe(atClient);
        _serverSocket.LingerState = new LingerOption(true, 0);
        _serverSocket.Close();

        var chunk = Frame.Data(1, new byte[64 * 1024]);
        for (int i = 0; i < 10_000 && !atClient.IsDone; i++)
        {
            _client.Outbound.OnNext(chunk);
            await _client.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
        }

        // The kernel reports a reset once: to the reader (an error, PeerEOF) or to the writer, after which the
        // reader may see a plain end of stream if it gets there before the write failure is recorded.
        var error = await atClient.WaitDoneAsync();
        Assert.That(error, Is.Null.Or.InstanceOf<MuxadoException>().With.Property(nameof(MuxadoException.Code)).EqualTo(ErrorCode.PeerEOF));
        Assert.That(() => _client.Outbound.OnNext(chunk), Throws.Nothing);
        await _client.WaitForWriteSpaceAsync(0).AsTask().WaitAsync(RecordingObserver.Timeout);
    }

    [Test]
    public async Task WaitForWriteSpaceAsync_waits_while_the_peer_does_not_read()
    {
        _clientSocket.SendBufferSize = 64 * 1024;
        _serverSocket.ReceiveBufferSize = 64 * 1024;
        var chunk = Frame.Data(1, new byte[256 * 1024]);

        // 16 MiB is far more than loopback socket buffers hold, so the writer must still be holding some of it.
        for (int i = 0; i < 64; i++)
        {
            _client.Outbound.OnNext(chunk);
        }
        var drained = _client.WaitForWriteSpaceAsync(0).AsTask();
        Assert.That(_client.PendingWriteBytes, Is.GreaterThan(0));
        Assert.That(drained.IsCompleted, Is.False);

        var atServer = new RecordingObserver();
        using var _ = _server.Inbound.Subscribe(atServer);
        await drained.WaitAsync(RecordingObserver.Timeout);
        Assert.That(_client.PendingWriteBytes, Is.Zero);
        await atServer.WaitForCountAsync(64);
    }

    [Test]
    public async Task Dispose_closes_the_socket_and_the_peer_sees_end_of_stream()
    {
        var atServer = new RecordingObserver();
        using var _ = _server.Inbound.Subscribe(atServer);

        await _client.DisposeAsync();

        Assert.That(await atServer.WaitDoneAsync(), Is.Null);
        Assert.That(() => _clientSocket.Available, Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public async Task A_stream_over_the_socket_works_the_same()
    {
        await using var viaStream = FrameTransport.FromStream(new NetworkStream(_clientSocket, ownsSocket: false));
        var atServer = new RecordingObserver();
        using var _ = _server.Inbound.Subscribe(atServer);
        var frame = Frame.Data(9, Encoding.ASCII.GetBytes("via stream"));

        viaStream.Outbound.OnNext(frame);
        viaStream.Outbound.OnCompleted(); // disposes the stream, not the socket it does not own

        await atServer.WaitForCountAsync(1);
        Assert.That(atServer.Frames, Is.EqualTo(new[] { frame }));
    }

    [Test]
    public void Only_connected_stream_sockets_are_accepted()
    {
        using var unconnected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var datagram = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.That(() => FrameTransport.FromSocket(unconnected), Throws.ArgumentException);
        Assert.That(() => FrameTransport.FromSocket(datagram), Throws.ArgumentException);
        Assert.That(() => FrameTransport.FromStream(new MemoryStream([], writable: false)), Throws.ArgumentException);
    }
}
