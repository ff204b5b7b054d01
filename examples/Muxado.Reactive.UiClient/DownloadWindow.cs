using System.Diagnostics;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;

namespace Muxado.Reactive.UiClient;

/// <summary>
/// The "window": downloads over a muxado stream with every observer on the UI thread, and redraws a progress line with
/// the heartbeat's round trip and a UI-thread tick counter while the bytes come in.
/// </summary>
/// <remarks>
/// Every field below is read and written on the UI thread only, as a view model's would be; <see cref="OnUiThread"/>
/// checks that each observer call really ran there.
/// </remarks>
public sealed class DownloadWindow(UiSynchronizationContext ui, long size, TimeSpan chunkWork, bool plainObserveOn)
{
    private const double MiB = 1024 * 1024;
    private static readonly TimeSpan RedrawPeriod = TimeSpan.FromMilliseconds(100);   // 10 Hz is plenty for a human
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(50);

    private readonly Stopwatch _clock = new();
    private long _handled;
    private long _chunks;
    private long _firstMismatch = -1;
    private long _observerCalls;
    private long _callsOffUiThread;
    private long _ticks;
    private TimeSpan _lastTick;
    private TimeSpan _longestTickGap;
    private TimeSpan? _roundTrip;
    private TimeSpan _worstRoundTrip;
    private long _beats;
    private long _mostBuffered;
    private long _mostHeap;
    private (TimeSpan At, long Written) _lastDraw;
    private double _senderRate;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // The UI thread's scheduler. Rx posts each notification to the context; the context runs it on the UI thread.
        IScheduler uiScheduler = new SynchronizationContextScheduler(ui);
        Console.WriteLine($"UI thread: managed thread {ui.ThreadId}; downloading {size / MiB:F0} MiB" +
            (chunkWork > TimeSpan.Zero
                ? $", each chunk taking the UI thread {chunkWork.TotalMilliseconds:F0} ms more (--slow-ui): the sender can go no faster " +
                  $"than the UI, about {Pattern.MaxSlice / MiB / chunkWork.TotalSeconds:F0} MiB/s with 64 KiB chunks"
                : "") +
            (plainObserveOn ? ", through a plain ObserveOn (--plain-observeon)" : ""));

        await using var server = DownloadServer.Start();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint, cancellationToken);
        // The session keeps its own scheduler (the default delivery pool): the UI thread only gets what it observes.
        await using var session = MuxSession.Create(socket, SessionRole.Client);

        await using var heartbeat = await Heartbeat.StartAsync(session, interval: TimeSpan.FromMilliseconds(100), cancellationToken: cancellationToken);
        // Round trips are small values, not stream data: a plain ObserveOn is right for them.
        using var beats = heartbeat.Latencies.ObserveOn(uiScheduler).Subscribe(OnBeat);
        // A tick every 50 ms on the UI thread: it keeps coming only if the UI thread is free between chunks. The library
        // hands the UI thread at most 64 chunks per turn, so other work waits at most 64 chunks' handling.
        using var ticking = Observable.Interval(TickPeriod, uiScheduler).Subscribe(_ => OnTick());

        var stream = await session.OpenTypedAsync(DownloadServer.DownloadType, cancellationToken);
        await stream.WriteAsync(DownloadServer.Request(size), cancellationToken);
        await stream.CloseWriteAsync(cancellationToken);

        // ObserveOnWithCredit, not ObserveOn: the chunk's credit goes back to the server only when OnChunk has returned on
        // the UI thread. With a plain ObserveOn the credit would go back as soon as the session's delivery thread handed
        // the chunk to ObserveOn's queue, so the server would send at network speed and a UI thread slower than the
        // network would have the whole download queued in front of it. Here the server can be at most one window (256
        // KiB) ahead of the UI, however slow the UI is: the slow side slows the sender down.
        // --plain-observeon shows that: with --slow-ui the heap grows towards the size of the download.
        var chunks = plainObserveOn ? stream.Received.ObserveOn(uiScheduler) : stream.ObserveOnWithCredit(uiScheduler);
        var progress = chunks
            .Do(OnChunk)
            .Scan(0L, (total, chunk) => total + chunk.Length)
            .Publish();
        // OnChunk runs for every chunk; the line is redrawn at most 10 times a second, with the latest total.
        using var redraw = progress.Sample(RedrawPeriod, uiScheduler).Subscribe(total => Draw(total, server, session));
        var finished = progress.LastOrDefaultAsync().ToTask(cancellationToken);

        _clock.Start();
        long received;
        using (progress.Connect())
        {
            try
            {
                received = await finished;   // resumes on the UI thread, like any await in a UI event handler
            }
            catch (MuxadoException error)
            {
                Console.WriteLine();
                Console.WriteLine($"download failed with {error.Code}: {error.Message}");
                return 1;
            }
        }
        var elapsed = _clock.Elapsed;
        Draw(received, server, session);
        Console.WriteLine();
        return Report(received, elapsed);
    }

    private void OnChunk(ReadOnlyMemory<byte> chunk)
    {
        OnUiThread();
        if (_firstMismatch < 0)
        {
            _firstMismatch = Pattern.FirstMismatch(_handled, chunk.Span);
        }
        _handled += chunk.Length;
        _chunks++;
        if (chunkWork > TimeSpan.Zero)
        {
            Thread.Sleep(chunkWork);   // stands in for heavy rendering: the UI thread is busy, and the credit waits
        }
    }

    private void OnBeat(TimeSpan roundTrip)
    {
        OnUiThread();
        _roundTrip = roundTrip;
        _worstRoundTrip = roundTrip > _worstRoundTrip ? roundTrip : _worstRoundTrip;
        _beats++;
    }

    private void OnTick()
    {
        OnUiThread();
        var now = _clock.Elapsed;
        if (_ticks > 0 && now - _lastTick > _longestTickGap)
        {
            _longestTickGap = now - _lastTick;
        }
        _lastTick = now;
        _ticks++;
    }

    private void Draw(long total, DownloadServer server, MuxSession session)
    {
        OnUiThread();
        var now = _clock.Elapsed;
        long written = server.BytesWritten;   // only an in-process server lets the client see this
        if (now > _lastDraw.At)
        {
            _senderRate = (written - _lastDraw.Written) / MiB / (now - _lastDraw.At).TotalSeconds;
        }
        _lastDraw = (now, written);
        long buffered = session.Statistics.BufferedReceiveBytes;   // arrived, waiting for the UI thread to take it
        long heap = GC.GetTotalMemory(forceFullCollection: false);
        _mostBuffered = Math.Max(_mostBuffered, buffered);
        _mostHeap = Math.Max(_mostHeap, heap);

        const int Width = 20;
        int done = size == 0 ? Width : (int)(Width * total / size);
        string rtt = _roundTrip is { } r ? $"{r.TotalMilliseconds,5:F2} ms" : "  ... ";
        Console.Write($"\r[{new string('#', done)}{new string('.', Width - done)}] {total / MiB,5:F1}/{size / MiB:F0} MiB" +
            $"  sender {_senderRate,6:F1} MiB/s  rtt {rtt}  ui ticks {_ticks,3}  buffered {buffered / 1024,4} KiB  heap {heap / MiB,4:F0} MiB ");
    }

    private int Report(long received, TimeSpan elapsed)
    {
        bool allThere = received == size && _handled == size;
        bool patternHolds = _firstMismatch < 0;
        Console.WriteLine($"downloaded {received:N0} bytes in {_chunks:N0} chunks, {elapsed.TotalSeconds:F2} s " +
            $"({received / MiB / elapsed.TotalSeconds:F1} MiB/s): " +
            (patternHolds ? "every byte as sent" : $"WRONG from byte {_firstMismatch:N0} on") + (allThere ? "" : $", but {size:N0} were asked for"));
        // With --slow-ui the longest gap is about 64 chunks' handling: the most the library hands the UI thread per turn.
        Console.WriteLine($"UI thread between chunks: {_ticks} ticks (one due every {TickPeriod.TotalMilliseconds:F0} ms), longest gap " +
            $"{_longestTickGap.TotalMilliseconds:F0} ms; {_beats} heartbeats, slowest round trip {_worstRoundTrip.TotalMilliseconds:F1} ms");
        Console.WriteLine($"memory: at most {_mostBuffered / 1024:N0} KiB waited in the session for the UI (the window is 256 KiB), " +
            $"heap at most {_mostHeap / MiB:F0} MiB");
        bool onUiThread = _callsOffUiThread == 0;
        Console.WriteLine(onUiThread
            ? $"all {_observerCalls:N0} observer calls ran on the UI thread ({ui.ThreadId})"
            : $"FAILED: {_callsOffUiThread:N0} of {_observerCalls:N0} observer calls ran off the UI thread");
        return allThere && patternHolds && onUiThread ? 0 : 1;
    }

    private void OnUiThread()
    {
        Interlocked.Increment(ref _observerCalls);
        if (Environment.CurrentManagedThreadId != ui.ThreadId)
        {
            Interlocked.Increment(ref _callsOffUiThread);
        }
    }
}
