using System.Reactive.Concurrency;
using System.Text;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Issue 10, item 9: <see cref="MuxStream.AsStream"/> behaves like a .NET stream. Zero-byte reads wait, failures are
/// <see cref="IOException"/>s, a disposed stream says so, a write cancelled part way resets, and the synchronous calls
/// never need the session's scheduler.
/// </summary>
public class StreamBridgeTests
{
    private const int Window = 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static (VirtualSessionPair Pair, MuxStream Client, MuxStream Server) OpenPair(MuxSessionOptions? options = null)
    {
        var pair = new VirtualSessionPair(options ?? new MuxSessionOptions { WindowSize = Window });
        var client = pair.Client.Open();
        pair.RunUntilIdle();
        var accept = pair.Server.AcceptAsync();
        Assert.That(accept.IsCompletedSuccessfully, Is.True);
        return (pair, client, accept.Result);
    }

    private static void Close(VirtualSessionPair pair) => Assert.That(pair.DisposeAsync().AsTask().Wait(Bound), Is.True);

    private static T InnerOf<T>(Exception? error)
        where T : Exception
    {
        Assert.That(error, Is.InstanceOf<IOException>(), () => $"an IOException, not {error?.GetType().Name}: {error}");
        Assert.That(error!.InnerException, Is.InstanceOf<T>(), "with the muxado exception inside");
        return (T)error.InnerException!;
    }

    // ---------------------------------------------------------------- zero-byte reads

    [Test]
    public void A_zero_byte_ReadAsync_waits_until_data_is_there_and_consumes_none_of_it()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var io = server.AsStream();

        var zero = io.ReadAsync(Memory<byte>.Empty).AsTask();
        pair.RunUntilIdle();
        Assert.That(zero.IsCompleted, Is.False, "no data yet: the zero-byte read waits, as on a socket");

        Assert.That(client.WriteAsync(B("abc")).AsTask().IsCompletedSuccessfully, Is.True);
        pair.RunUntilIdle();
        Assert.That(zero.IsCompletedSuccessfully, Is.True, "data arrived: the zero-byte read completes");
        Assert.That(zero.Result, Is.Zero);
        Assert.That(pair.ServerFrames.Frames.Where(f => f.Type == FrameType.WndInc), Is.Empty, "nothing was consumed, so nothing was credited");

        var buffer = new byte[16];
        var read = io.ReadAsync(buffer).AsTask();
        Assert.That(read.IsCompletedSuccessfully, Is.True);
        Assert.That(buffer.AsSpan(0, read.Result).ToArray(), Is.EqualTo(B("abc")), "the next read gets every byte");

        // At the end of the stream, a zero-byte read completes at once with 0, like any read.
        Assert.That(client.CloseWriteAsync().AsTask().IsCompletedSuccessfully, Is.True);
        pair.RunUntilIdle();
        var atEnd = io.ReadAsync(Memory<byte>.Empty).AsTask();
        Assert.That(atEnd.IsCompletedSuccessfully && atEnd.Result == 0, Is.True);
        Assert.That(io.ReadAsync(buffer).AsTask().Result, Is.Zero);
        Close(pair);
    }

    // ---------------------------------------------------------------- failures

    [Test]
    public void A_peer_reset_fails_reads_and_writes_with_an_IOException_holding_the_stream_exception()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var io = server.AsStream();
        var pending = io.ReadAsync(new byte[8]).AsTask();

        client.Reset(ErrorCode.StreamRefused);
        pair.RunUntilIdle();

        Assert.That(pending.IsFaulted, Is.True);
        var readError = InnerOf<MuxadoStreamException>(pending.Exception!.InnerException);
        Assert.That((readError.Code, readError.ByPeer, readError.StreamId), Is.EqualTo((ErrorCode.StreamRefused, true, server.Id)));
        var syncRead = Assert.Catch(() => _ = io.Read(new byte[8], 0, 8));
        Assert.That(InnerOf<MuxadoStreamException>(syncRead).Code, Is.EqualTo(ErrorCode.StreamRefused), "the synchronous Read too, unwrapped from any AggregateException");
        var write = io.WriteAsync(B("late")).AsTask();
        Assert.That(write.IsFaulted, Is.True);
        Assert.That(InnerOf<MuxadoStreamException>(write.Exception!.InnerException).Code, Is.EqualTo(ErrorCode.StreamRefused));
        var syncWrite = Assert.Catch(() => io.Write(B("late"), 0, 4));
        Assert.That(InnerOf<MuxadoStreamException>(syncWrite).Code, Is.EqualTo(ErrorCode.StreamRefused));
        Close(pair);
    }

    [Test]
    public void The_session_ending_fails_reads_and_writes_with_an_IOException_holding_the_session_exception()
    {
        using var inline = new InlineContinuations();
        var (pair, _, server) = OpenPair(new MuxSessionOptions { WindowSize = Window });
        var io = server.AsStream();
        var pending = io.ReadAsync(new byte[8]).AsTask();
        var blocked = io.WriteAsync(new byte[3 * Window]).AsTask(); // waits for window after the first 1024 bytes
        pair.RunUntilIdle();
        Assert.That(blocked.IsCompleted, Is.False);

        // Closing the transport may finish on a pool thread: run until the close is done, then deliver what it set off.
        var closing = pair.Client.DisposeAsync().AsTask();
        Assert.DoesNotThrow(() => pair.Scheduler.RunUntilCompleted(closing), "the client closed");
        pair.RunUntilIdle();

        Assert.That(pending.IsFaulted && blocked.IsFaulted, Is.True);
        Assert.That(InnerOf<MuxadoSessionException>(pending.Exception!.InnerException).End, Is.EqualTo(pair.Server.Completion.Result));
        Assert.That(InnerOf<MuxadoSessionException>(blocked.Exception!.InnerException).End, Is.EqualTo(pair.Server.Completion.Result));
        Close(pair);
    }

    // ---------------------------------------------------------------- after Dispose

    [Test]
    public void Every_member_after_Dispose_throws_ObjectDisposedException()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        Assert.That(client.WriteAsync(B("unread")).AsTask().IsCompletedSuccessfully, Is.True);
        pair.RunUntilIdle();
        var io = server.AsStream();
        io.Dispose();

        Assert.That(io.CanRead || io.CanWrite, Is.False, "a disposed stream can neither read nor write");
        var buffer = new byte[8];
        var calls = new Dictionary<string, Action>
        {
            ["Read(byte[])"] = () => _ = io.Read(buffer, 0, buffer.Length),
            ["Read(Span)"] = () => _ = io.Read(buffer.AsSpan()),
            ["ReadByte"] = () => io.ReadByte(),
            ["ReadAsync(Memory)"] = () => io.ReadAsync(buffer.AsMemory()).AsTask().GetAwaiter().GetResult(),
            ["ReadAsync(byte[])"] = () => io.ReadAsync(buffer, 0, buffer.Length).GetAwaiter().GetResult(),
            ["ReadExactly"] = () => io.ReadExactly(buffer),
            ["Write(byte[])"] = () => io.Write(buffer, 0, buffer.Length),
            ["Write(Span)"] = () => io.Write(buffer.AsSpan()),
            ["WriteByte"] = () => io.WriteByte(1),
            ["WriteAsync(Memory)"] = () => io.WriteAsync(buffer.AsMemory()).AsTask().GetAwaiter().GetResult(),
            ["WriteAsync(byte[])"] = () => io.WriteAsync(buffer, 0, buffer.Length).GetAwaiter().GetResult(),
            ["Flush"] = io.Flush,
            ["FlushAsync"] = () => io.FlushAsync().GetAwaiter().GetResult(),
            ["CopyTo"] = () => io.CopyTo(Stream.Null),
            ["CopyToAsync"] = () => io.CopyToAsync(Stream.Null).GetAwaiter().GetResult(),
        };
        foreach (var (name, call) in calls)
        {
            Assert.That(() => call(), Throws.InstanceOf<ObjectDisposedException>(), name);
        }
        Assert.That(() => io.Dispose(), Throws.Nothing, "disposing again is allowed");
        Assert.That(io.DisposeAsync().AsTask().IsCompletedSuccessfully, Is.True);
        Close(pair);
    }

    // ---------------------------------------------------------------- cancelled writes

    [Test]
    public void A_write_cancelled_after_part_of_it_was_sent_resets_the_stream()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        Exception? peerError = null;
        long peerBytes = 0;
        server.Received.Subscribe(c => peerBytes += c.Length, e => peerError = e);
        // The peer reads, but nothing is delivered until the scheduler runs: the write is cancelled before any credit returns.
        var io = client.AsStream();
        using var cancel = new CancellationTokenSource();
        var write = io.WriteAsync(new byte[3 * Window], cancel.Token).AsTask();
        Assert.That(write.IsCompleted, Is.False, "1024 bytes went out, the rest waits for window");
        Assert.That(pair.ClientFrames.Frames.Where(f => f.Type == FrameType.Data).Sum(f => f.Length), Is.EqualTo(Window));

        cancel.Cancel();
        pair.RunUntilIdle();

        Assert.That(write.IsCanceled, Is.True, () => $"the write ends as cancelled ({write.Status})");
        Assert.That(pair.ClientFrames.Frames, Does.Contain(Frame.Rst(client.Id, ErrorCode.StreamCancelled)),
            "a prefix of the write is on the wire: the reset says it is not the whole message");
        Assert.That(peerError, Is.InstanceOf<MuxadoStreamException>());
        Assert.That(((MuxadoStreamException)peerError!).Code, Is.EqualTo(ErrorCode.StreamCancelled), "the peer's reader fails");
        Assert.That(() => io.Write(B("more"), 0, 4), Throws.InstanceOf<IOException>(), "the stream is over");
        Close(pair);
    }

    [Test]
    public void A_write_cancelled_before_it_sent_anything_leaves_the_stream_usable()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var io = client.AsStream();
        Assert.That(io.WriteAsync(new byte[Window]).AsTask().IsCompletedSuccessfully, Is.True, "the window is now shut");
        using var cancel = new CancellationTokenSource();
        var write = io.WriteAsync(new byte[100], cancel.Token).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompleted, Is.False, "waiting for window, nothing of it sent");

        cancel.Cancel();
        pair.RunUntilIdle();
        Assert.That(write.IsCanceled, Is.True);
        Assert.That(pair.ClientFrames.Frames.Where(f => f.Type == FrameType.Rst), Is.Empty, "no reset: nothing of the cancelled write went out");

        long received = 0;
        Exception? error = null;
        server.Received.Subscribe(c => received += c.Length, e => error = e);
        pair.RunUntilIdle(); // the reader consumes, the credit returns
        Assert.That(io.WriteAsync(B("after")).AsTask().IsCompletedSuccessfully, Is.True, "the stream still writes");
        pair.RunUntilIdle();
        Assert.That(error, Is.Null);
        Assert.That(received, Is.EqualTo(Window + 5), "the first write and the last: no byte of the cancelled one");
        Close(pair);
    }

    // ---------------------------------------------------------------- synchronous calls never need the scheduler

    [Test]
    public void Synchronous_Read_and_Write_complete_while_nobody_runs_the_sessions_scheduler()
    {
        // The session's scheduler is a test scheduler that nothing runs while the caller blocks: a completion that went
        // through it would never come (issue 10: a synchronous Read in an Incoming handler on an event loop deadlocked).
        // The peer's frames are fed in by the test thread, so the caller's thread is all the session has.
        var scheduler = new BoundedTestScheduler();
        var transport = new ManualTransport(scheduler);
        var session = MuxSession.Server(transport, new MuxSessionOptions { Scheduler = scheduler, WindowSize = Window });
        transport.Peer.OnNext(Frame.Data(3, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        var accept = session.AcceptAsync();
        scheduler.RunUntilIdle();
        Assert.That(accept.IsCompletedSuccessfully, Is.True);
        var io = accept.Result.AsStream();

        var buffer = new byte[16];
        int read = -1;
        var reader = Blocking(() => read = io.Read(buffer, 0, buffer.Length));
        WaitUntilBlocked(reader);
        transport.Peer.OnNext(Frame.Data(3, B("hello")));
        Assert.That(reader.Join(Bound), Is.True, "the blocked Read returned without the scheduler");
        Assert.That(buffer.AsSpan(0, read).ToArray(), Is.EqualTo(B("hello")));

        var writer = Blocking(() => io.Write(new byte[3 * Window], 0, 3 * Window));
        WaitUntilBlocked(writer, () => WindowLeft(session, 3) == 0); // blocked after sending the window, not before
        Assert.That(DataWritten(transport), Is.EqualTo(Window), "one window went out; Write blocks for more");
        transport.Peer.OnNext(Frame.WndInc(3, 2 * Window));
        Assert.That(writer.Join(Bound), Is.True, "the blocked Write returned without the scheduler");
        Assert.That(DataWritten(transport), Is.EqualTo(3 * Window));
    }

    [Test]
    public void A_synchronous_Read_inside_an_Incoming_handler_on_an_event_loop_gets_its_data()
    {
        // The shape of issue 10's deadlock: the handler blocks the only thread of the session's scheduler.
        using var loop = new EventLoopScheduler();
        var (left, right) = Muxado.Reactive.Transports.FrameTransport.CreateInMemoryPair();
        var options = new MuxSessionOptions { Scheduler = loop };
        var client = MuxSession.Client(left, options);
        var server = MuxSession.Server(right, options);
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerThread = new TaskCompletionSource<Thread>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Incoming.Subscribe(stream =>
        {
            try
            {
                handlerThread.TrySetResult(Thread.CurrentThread);
                var io = stream.AsStream();
                var buffer = new byte[5];
                io.ReadExactly(buffer); // blocks the event loop's thread
                io.Write(buffer, 0, buffer.Length);
                echoed.TrySetResult(Encoding.ASCII.GetString(buffer));
            }
            catch (Exception ex)
            {
                echoed.TrySetException(ex);
            }
        });

        var stream = client.Open();
        // The data is sent only once the handler blocks in Read, so that the Read has to wait for it.
        Assert.That(handlerThread.Task.Wait(Bound), Is.True, "the stream reached the handler");
        WaitUntilBlocked(handlerThread.Task.Result);
        Assert.That(stream.WriteAsync(B("hello")).AsTask().Wait(Bound), Is.True);
        Assert.That(echoed.Task.Wait(Bound), Is.True, "the handler's synchronous Read and Write completed");
        Assert.That(echoed.Task.Result, Is.EqualTo("hello"));
        Assert.That(Task.WhenAll(client.DisposeAsync().AsTask(), server.DisposeAsync().AsTask()).Wait(Bound), Is.True);
    }

    private static long WindowLeft(MuxSession session, uint id)
    {
        using (session.Lock.Enter())
        {
            return session.Core.SendWindowOf(id);
        }
    }

    private static long DataWritten(ManualTransport transport) =>
        transport.Written.Where(f => f.Type == FrameType.Data).Sum(f => (long)f.Length);

    private static Thread Blocking(Action call)
    {
        var thread = new Thread(() => call()) { IsBackground = true, Name = "blocking caller" };
        thread.Start();
        return thread;
    }

    /// <summary>
    /// Waits (bounded) until <paramref name="thread"/> blocks in a wait, after <paramref name="reached"/> holds, so that
    /// what comes next finds it blocked.
    /// </summary>
    private static void WaitUntilBlocked(Thread thread, Func<bool>? reached = null)
    {
        var deadline = DateTime.UtcNow + Bound;
        var spin = new SpinWait();
        while (!(reached?.Invoke() ?? true) || (thread.ThreadState & ThreadState.WaitSleepJoin) == 0)
        {
            Assert.That(thread.IsAlive, Is.True, "the call returned instead of blocking");
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the call never blocked");
            spin.SpinOnce();
        }
    }
}
