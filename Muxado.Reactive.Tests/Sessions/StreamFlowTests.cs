using System.Reactive.Linq;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Credit accounting of every way to read a stream (ReadAllAsync, AsStream, the credit operators) and the
/// SendTo operator, in virtual time: whatever the reader does, every byte it consumed is credited back once.
/// </summary>
public class StreamFlowTests
{
    private const int Window = 1024;
    private static readonly MuxSessionOptions Small = new() { WindowSize = Window, MaxFramePayload = 256 };

    private static long Credited(VirtualSessionPair pair, uint id) =>
        pair.ServerFrames.Frames.Where(f => f.Type == FrameType.WndInc && f.StreamId == id).Sum(f => (long)f.Increment);

    private static long Buffered(MuxSession session)
    {
        using (session.Lock.Enter())
        {
            return session.Core.BufferedBytes;
        }
    }

    private static (VirtualSessionPair Pair, MuxStream Client, MuxStream Server) OpenPair(MuxSessionOptions? options = null)
    {
        var pair = new VirtualSessionPair(options ?? Small);
        var client = pair.Client.Open();
        pair.RunUntilIdle();
        var accept = pair.Server.AcceptAsync();
        Assert.That(accept.IsCompletedSuccessfully, Is.True);
        return (pair, client, accept.Result);
    }

    // ---------------------------------------------------------------- pull readers

    [Test]
    public void Leaving_ReadAllAsync_early_still_returns_the_credit_of_the_chunk_it_took()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var write = client.WriteAsync(new byte[Window]).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompletedSuccessfully, Is.True);

        // A reader that takes one chunk and leaves the loop (await foreach ... break).
        var reader = server.ReadAllAsync().GetAsyncEnumerator();
        var moved = reader.MoveNextAsync().AsTask();
        Assert.That(moved.IsCompletedSuccessfully && moved.Result, Is.True);
        Assert.That(reader.Current.Length, Is.EqualTo(256));
        Assert.That(reader.DisposeAsync().AsTask().IsCompletedSuccessfully, Is.True);

        // The rest through another reader.
        var io = server.AsStream();
        var buffer = new byte[Window];
        int read = 0;
        while (read < Window - 256)
        {
            read += io.ReadAsync(buffer.AsMemory(read)).AsTask().Result;
        }
        pair.RunUntilIdle();

        Assert.That(Buffered(pair.Server), Is.Zero, "every byte was consumed");
        Assert.That(Credited(pair, client.Id), Is.EqualTo(Window), "so every byte is credited: the sender gets its whole window back");
        var next = client.WriteAsync(new byte[Window]).AsTask();
        pair.RunUntilIdle();
        Assert.That(next.IsCompletedSuccessfully, Is.True);
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [Test]
    public void AsStream_reads_smaller_than_a_frame_put_the_rest_back_and_credit_exactly_what_was_read()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var payload = Enumerable.Range(0, 3000).Select(i => (byte)(i * 13)).ToArray();
        var write = client.WriteAsync(payload).AsTask();
        var io = server.AsStream();
        var received = new List<byte>();
        var buffer = new byte[100];
        for (int step = 0; step < 1000 && received.Count < payload.Length; step++)
        {
            pair.RunUntilIdle();
            var read = io.ReadAsync(buffer).AsTask();
            pair.RunUntilIdle();
            Assert.That(read.IsCompletedSuccessfully, Is.True, "data is there once the writer got credit");
            received.AddRange(buffer.Take(read.Result));
        }
        pair.RunUntilIdle();

        Assert.That(received, Is.EqualTo(payload));
        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(Credited(pair, client.Id), Is.EqualTo(payload.Length));
        var credits = pair.ServerFrames.Frames.Where(f => f.Type == FrameType.WndInc).Select(f => (int)f.Increment).ToList();
        Assert.That(credits, Has.All.GreaterThanOrEqualTo(100), "coalesced: never one WNDINC per 100-byte read");
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void A_write_waiting_for_window_fails_when_the_stream_is_reset(bool byPeer)
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var write = client.WriteAsync(new byte[2 * Window]).AsTask();
        pair.RunUntilIdle();
        Assert.That(write.IsCompleted, Is.False, "nobody reads: the window is full");

        if (byPeer)
        {
            server.Reset(ErrorCode.StreamCancelled);
        }
        else
        {
            client.Reset(ErrorCode.StreamCancelled);
        }
        pair.RunUntilIdle();

        Assert.That(write.IsFaulted, Is.True);
        var error = write.Exception!.InnerException as MuxadoStreamException;
        Assert.That(error?.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        Assert.That(error?.ByPeer, Is.EqualTo(byPeer));
        Assert.That(Buffered(pair.Server), Is.Zero, "the reset dropped what the reader had not read");
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    // ---------------------------------------------------------------- credit operators

    [Test]
    public void ObserveOnWithCredit_returns_credit_only_after_the_work_on_the_other_scheduler()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var ui = new BoundedTestScheduler();
        var handled = new List<int>();
        server.ObserveOnWithCredit(ui).Subscribe(chunk => handled.Add(chunk.Length), _ => { });

        var write = client.WriteAsync(new byte[2 * Window]).AsTask();
        pair.RunUntilIdle();
        Assert.That(handled, Is.Empty, "the ui scheduler has not run");
        Assert.That(Credited(pair, client.Id), Is.Zero, "received is not consumed: no credit");
        Assert.That(write.IsCompleted, Is.False);

        for (int i = 0; i < 100 && !write.IsCompleted; i++)
        {
            ui.RunUntilIdle();
            pair.RunUntilIdle();
        }
        ui.RunUntilIdle();
        pair.RunUntilIdle();
        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(handled.Sum(), Is.EqualTo(2 * Window));
        Assert.That(Credited(pair, client.Id), Is.EqualTo(2 * Window));
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [Test]
    public void SelectAsyncWithCredit_runs_work_one_chunk_at_a_time_and_credits_each_when_its_work_completes()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var works = new List<(TaskCompletionSource<int> Work, int Length)>();
        var results = new List<int>();
        server.ReceivedWithCredit()
            .SelectAsyncWithCredit((chunk, _) =>
            {
                var work = new TaskCompletionSource<int>();
                lock (works)
                {
                    works.Add((work, chunk.Length));
                }
                return work.Task;
            })
            .Subscribe(r =>
            {
                lock (results)
                {
                    results.Add(r);
                }
            }, _ => { });
        int Count<T>(List<T> list)
        {
            lock (list)
            {
                return list.Count;
            }
        }

        var write = client.WriteAsync(new byte[Window + 256]).AsTask();
        pair.RunUntilIdle();
        Assert.That(Count(works), Is.EqualTo(1), "one work item at a time");
        Assert.That(Credited(pair, client.Id), Is.Zero);

        for (int i = 1; i <= 5; i++)
        {
            Assert.That(SpinWait.SpinUntil(() => Count(works) == i, TimeSpan.FromSeconds(10)), Is.True, $"work {i} started");
            Assert.That(Count(results), Is.EqualTo(i - 1), "the next chunk's work waits for the previous one");
            var (work, length) = works[i - 1];
            work.SetResult((1000 * i) + length);
            Assert.That(SpinWait.SpinUntil(() => Count(results) == i, TimeSpan.FromSeconds(10)), Is.True);
            pair.RunUntilIdle();
        }

        Assert.That(results, Is.EqualTo(new[] { 1256, 2256, 3256, 4256, 5256 }), "in order, one result per chunk");
        Assert.That(write.IsCompletedSuccessfully, Is.True);
        Assert.That(Credited(pair, client.Id), Is.EqualTo(Window + 256));
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    // ---------------------------------------------------------------- SendTo

    [Test]
    public void SendTo_writes_a_single_chunk_larger_than_its_buffer_when_the_window_is_open()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair(new MuxSessionOptions());
        var received = new List<byte>();
        server.Received.Subscribe(c => received.AddRange(c.ToArray()), _ => { });
        var observer = pair.Scheduler.CreateObserver<long>();

        // maxBufferedBytes bounds what waits for the peer's window; this chunk does not wait: the window is open.
        Observable.Return((ReadOnlyMemory<byte>)new byte[4096]).SendTo(client, maxBufferedBytes: 1024).Subscribe(observer);
        pair.RunUntilIdle();

        Assert.That(observer.Messages.Select(m => m.Value.Kind), Is.EqualTo(new[]
        {
            System.Reactive.NotificationKind.OnNext, System.Reactive.NotificationKind.OnCompleted,
        }), observer.Messages.FirstOrDefault().Value?.Exception?.Message);
        Assert.That(received, Has.Count.EqualTo(4096));
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [Test]
    public void SendTo_completes_after_the_fin_is_written_and_unsubscribing_afterwards_resets_nothing()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var source = new Subject<ReadOnlyMemory<byte>>();
        bool completed = false;
        int framesAtCompletion = -1;
        var subscription = source.SendTo(client).Subscribe(_ => { }, _ => { }, () =>
        {
            completed = true;
            framesAtCompletion = pair.ClientFrames.Frames.Count;
        });

        source.OnNext(new byte[300]);
        source.OnNext(new byte[300]);
        source.OnCompleted();
        pair.RunUntilIdle();

        Assert.That(completed, Is.True);
        Assert.That(pair.ClientFrames.Frames[framesAtCompletion - 1], Is.EqualTo(Frame.Data(client.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin)),
            "OnCompleted comes after the FIN went out");
        subscription.Dispose();
        pair.RunUntilIdle();
        Assert.That(pair.ClientFrames.Frames.Any(f => f.Type == FrameType.Rst), Is.False);
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }

    [Test]
    public void Unsubscribing_from_SendTo_before_the_source_completes_resets_the_stream()
    {
        using var inline = new InlineContinuations();
        var (pair, client, server) = OpenPair();
        var source = new Subject<ReadOnlyMemory<byte>>();
        var subscription = source.SendTo(client).Subscribe(_ => { }, _ => { });
        source.OnNext(new byte[10]);
        subscription.Dispose();
        var reader = pair.Scheduler.CreateObserver<ReadOnlyMemory<byte>>();
        server.Received.Subscribe(reader);
        pair.RunUntilIdle();

        Assert.That(pair.ClientFrames.Frames, Does.Contain(Frame.Rst(client.Id, ErrorCode.StreamCancelled)));
        Assert.That((reader.Messages[^1].Value.Exception as MuxadoStreamException)?.Code, Is.EqualTo(ErrorCode.StreamCancelled));
        Assert.That(source.HasObservers, Is.False, "the source subscription was disposed too");
        pair.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
    }
}
