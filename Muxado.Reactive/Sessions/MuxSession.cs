using System.IO.Pipelines;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Diagnostics;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive;

/// <summary>
/// A muxado session: many full-duplex <see cref="MuxStream"/>s over one transport (DESIGN.md layer 3).
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> Every input (a frame read, an open, a write, a read, a close) is applied to the sans-IO
/// protocol core under one lock; frames leave in exactly the order the core produced them. No user code runs under that
/// lock: not an observer, not a continuation, not even a call to the scheduler or to a transport of your own
/// (<see cref="FrameTransport.Create"/>); such work is collected under the lock and done after it is released.</para>
/// <para><b>Delivery.</b> Data, incoming streams and the completions of waiting calls reach user code on
/// <see cref="MuxSessionOptions.Scheduler"/>, through one serial drain per consumer: notifications to one observer are
/// never concurrent, the terminal one comes last, and a busy stream yields the scheduler after 64 deliveries so that a
/// single-threaded scheduler serves every stream. A chunk or stream is handed over atomically: it is either delivered to
/// an observer that was subscribed at that instant, or it stays queued for the next one, whatever unsubscribes on another
/// thread (such an unsubscription waits for an <c>OnNext</c> already running to return).</para>
/// <para><b>What a blocking subscriber costs.</b> A subscriber that blocks in <c>OnNext</c> holds one thread of the
/// scheduler and stalls its own stream only (its peer sees a window that does not open). The default scheduler
/// (<see cref="MuxSchedulers.Delivery"/>) adds a thread when its threads are all held, and the transport's reader and
/// writer never run on it, so reading, writing and the other streams go on. On a single-threaded scheduler (an event
/// loop, a UI dispatcher) a blocked subscriber blocks every delivery of that scheduler, as any code there would.</para>
/// <para><b>Hot and cold.</b> <see cref="Incoming"/> hands out each stream once, to one subscriber at a time (a second
/// one gets an error); <see cref="StreamEvents"/> is hot and only watches. A stream's <see cref="MuxStream.Received"/> is
/// cold, one reader at a time, and a new reader goes on where the previous one left. <see cref="Ended"/> replays how the
/// session ended to every subscriber.</para>
/// <para>The session starts reading when it is created and ends once: by <see cref="DisposeAsync"/>,
/// by <see cref="GoAwayAsync"/> followed by the transport's end, by a protocol violation (GOAWAY with
/// the code and debug text, a linger of <see cref="MuxSessionOptions.GoAwayLinger"/>, then the transport
/// is closed), or by the transport ending. <see cref="Completion"/> and <see cref="Ended"/> report how.</para>
/// </remarks>
public sealed partial class MuxSession : IAsyncDisposable
{
    private readonly FrameTransport _transport;
    // Assigned after Subscribe returns; a transport may deliver (even end the session) inside Subscribe, and
    // a SingleAssignmentDisposable disposed before assignment disposes the subscription as soon as it is set.
    private readonly SingleAssignmentDisposable _inboundSubscription = new();
    private readonly TaskCompletionSource<SessionEnd> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly AsyncSubject<SessionEnd> _ended = new();
    private HashSet<MuxStream>? _live; // made with the first stream: an idle session holds no set
    private readonly FrameOutput _output;
    private SessionEnd? _end;
    private (ErrorCode Code, string Debug)? _remoteGoAway;
    private Task _transportClosed = Task.CompletedTask;

    private MuxSession(FrameTransport transport, SessionRole role, MuxSessionOptions? options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Options = (options ?? MuxSessionOptions.Default).Validate();
        Role = role;
        _transport = transport;
        _output = FrameOutput.For(transport, Lock, OnOutputFailed);
        Core = new ProtocolCore(role, Options, new Sink(this));
        Telemetry = new SessionTelemetry(Options, Lock, _output);
        Telemetry.Started(role);
        _inboundSubscription.Disposable = transport.Inbound.Subscribe(new InboundObserver(this));
    }

    /// <summary>Starts a client session (opens odd stream ids) over <paramref name="transport"/>.</summary>
    /// <remarks>
    /// A transport made with <see cref="FrameTransport.FromSocket"/> and the like keeps DATA frames up to its
    /// <see cref="FrameTransportOptions.ReaderLimits"/>; with a <see cref="MuxSessionOptions.WindowSize"/> above the
    /// default 256 KiB, build it with <c>ReaderLimits = options.ReaderLimits</c>, or the peer's full-window frames
    /// arrive truncated and their streams are reset. The <c>Create</c> overloads do this for you.
    /// </remarks>
    public static MuxSession Client(FrameTransport transport, MuxSessionOptions? options = null) => new(transport, SessionRole.Client, options);

    /// <summary>Starts a server session (opens even stream ids) over <paramref name="transport"/>.</summary>
    /// <remarks>See <see cref="Client"/> on matching the transport's reader limits to the window.</remarks>
    public static MuxSession Server(FrameTransport transport, MuxSessionOptions? options = null) => new(transport, SessionRole.Server, options);

    /// <summary>Starts a session in <paramref name="role"/> over a byte stream (a <c>NetworkStream</c>, <c>SslStream</c>, pipe stream...).</summary>
    public static MuxSession Create(Stream stream, SessionRole role, MuxSessionOptions? options = null) =>
        new(FrameTransport.FromStream(stream, TransportOptions(options)), role, options);

    /// <summary>Starts a session in <paramref name="role"/> over a connected socket; the session owns it.</summary>
    public static MuxSession Create(Socket socket, SessionRole role, MuxSessionOptions? options = null) =>
        new(FrameTransport.FromSocket(socket, TransportOptions(options)), role, options);

    /// <summary>Starts a session in <paramref name="role"/> over an open WebSocket (binary messages); the session owns it.</summary>
    /// <remarks>See <see cref="FrameTransport.FromWebSocket"/> for how the close handshake maps onto the session's end.</remarks>
    public static MuxSession Create(System.Net.WebSockets.WebSocket webSocket, SessionRole role, MuxSessionOptions? options = null) =>
        new(FrameTransport.FromWebSocket(webSocket, TransportOptions(options)), role, options);

    /// <summary>Starts a session in <paramref name="role"/> over a duplex pipe.</summary>
    public static MuxSession Create(IDuplexPipe pipe, SessionRole role, MuxSessionOptions? options = null) =>
        new(FrameTransport.FromPipe(pipe, TransportOptions(options)), role, options);

    private static FrameTransportOptions TransportOptions(MuxSessionOptions? options) =>
        new() { ReaderLimits = (options ?? MuxSessionOptions.Default).ReaderLimits };

    /// <summary>The validated settings.</summary>
    public MuxSessionOptions Options { get; }

    /// <summary>Client (odd ids) or server (even ids).</summary>
    public SessionRole Role { get; }

    /// <summary>Completes, never faults, when the session has ended; says how.</summary>
    public Task<SessionEnd> Completion => _completion.Task;

    /// <summary>
    /// Yields one <see cref="SessionEnd"/> and completes when the session ends (replayed to late subscribers), on the
    /// session's scheduler like every other notification.
    /// </summary>
    public IObservable<SessionEnd> Ended => _ended.ObserveOn(Scheduler);

    /// <summary>The peer's GOAWAY code and debug text, once one has arrived.</summary>
    public (ErrorCode Code, string Debug)? RemoteGoAway
    {
        get
        {
            using (Lock.Enter())
            {
                return _remoteGoAway;
            }
        }
    }

    internal DeferringLock Lock { get; } = new();
    internal ProtocolCore Core { get; }
    internal SessionTelemetry Telemetry { get; }
    internal IScheduler Scheduler => Options.Scheduler;
    internal long NowTicks => Scheduler.Now.UtcTicks;

    /// <summary>
    /// Opens a stream. No handshake: the SYN goes out at once (or with the first write when
    /// <see cref="MuxSessionOptions.OpenWithEmptySyn"/> is off) and the stream is usable immediately.
    /// </summary>
    /// <exception cref="MuxadoException">With <see cref="ErrorCode.RemoteGoneAway"/> after the peer's GOAWAY,
    /// <see cref="ErrorCode.StreamsExhausted"/> when ids ran out, <see cref="ErrorCode.SessionClosed"/> after the end.</exception>
    public MuxStream Open()
    {
        using (Lock.Enter())
        {
            var stream = new MuxStream(this);
            var code = Core.TryOpen(stream, out uint id);
            if (code != ErrorCode.NoError)
            {
                throw OpenFailure(code);
            }
            stream.Id = id;
            (_live ??= []).Add(stream);
            Telemetry.StreamStartedLocked(local: true);
            PublishLocked(StreamEventKind.Opened, stream);
            return stream;
        }
    }

    /// <summary>Opens a stream; the asynchronous form of <see cref="Open"/> (opening never waits).</summary>
    public ValueTask<MuxStream> OpenAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<MuxStream>(Open());
    }

    private Exception OpenFailure(ErrorCode code) => code switch
    {
        ErrorCode.SessionClosed when _end is not null => new MuxadoSessionException(_end),
        ErrorCode.RemoteGoneAway => new MuxadoException(code, "cannot open a stream: the peer sent GOAWAY" +
            (_remoteGoAway is { } g ? $" ({g.Code} \"{g.Debug}\")" : string.Empty)),
        ErrorCode.StreamsExhausted => new MuxadoException(code, "cannot open a stream: stream ids are exhausted"),
        _ => new MuxadoException(code, "cannot open a stream: the session is closed"),
    };

    /// <summary>
    /// Sends GOAWAY: the peer may open no more streams; streams already open go on. The session stays open
    /// (Go's padding frame follows so that a Go reader stays in sync). Completes when the GOAWAY has been written to the
    /// transport (or the transport closed).
    /// </summary>
    /// <exception cref="MuxadoSessionException">The session had already ended.</exception>
    public Task GoAwayAsync(ErrorCode code = ErrorCode.NoError, string debug = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(debug);
        if (System.Text.Encoding.UTF8.GetByteCount(debug) > Frame.MaxBodyLength - Frame.GoAwayFixedLength)
        {
            throw new ArgumentOutOfRangeException(nameof(debug), "The GOAWAY debug text does not fit in one frame.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        long position;
        using (Lock.Enter())
        {
            if (_end is not null)
            {
                return Task.FromException(new MuxadoSessionException(_end));
            }
            Core.GoAway(code, debug, sessionStaysOpen: true);
            position = _output.PositionLocked;
        }
        return _output.WaitForWrittenAsync(position).AsTask().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Ends the session gracefully: sends GOAWAY (NoError, <paramref name="debug"/>) so that the peer opens no more
    /// streams, lets the streams already open go on until the peer ends the session or <paramref name="drainTimeout"/>
    /// passes on the session's scheduler, then closes it (<see cref="DisposeAsync"/>). Returns how the session ended.
    /// </summary>
    /// <remarks>The deadline covers the GOAWAY too: it waits to be written, and a peer that reads nothing would hold it.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits for the peer however long it takes. On a session that has ended it
    /// returns that end.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (but not infinite) or beyond about 24 days, or
    /// the debug text does not fit in one frame.</exception>
    public async Task<SessionEnd> DrainAsync(TimeSpan drainTimeout, string debug = "draining")
    {
        if (drainTimeout != Timeout.InfiniteTimeSpan &&
            (drainTimeout < TimeSpan.Zero || drainTimeout > TimeSpan.FromMilliseconds(int.MaxValue - 1)))
        {
            throw new ArgumentOutOfRangeException(nameof(drainTimeout), drainTimeout, "must be infinite, or from zero to about 24 days");
        }
        var goingAway = GoAwayUnlessEndedAsync(debug);
        if (drainTimeout != TimeSpan.Zero)
        {
            // The close starts in the deadline's timer itself, on the session's scheduler, as the session's other timers do.
            // (A timer that only woke this method would close after a hop through the thread pool: late, and in virtual
            // time at whatever time the test scheduler had reached by then.) The wait ends when the session has ended:
            // closed by the peer, or by that close.
            using (drainTimeout == Timeout.InfiniteTimeSpan ? Disposable.Empty : Scheduler.Schedule(drainTimeout, () => _ = DisposeAsync().AsTask()))
            {
                await Task.WhenAll(goingAway, Completion).ConfigureAwait(false);
            }
        }
        await DisposeAsync().ConfigureAwait(false);
        await goingAway.ConfigureAwait(false); // over: the transport is closed
        return await Completion.ConfigureAwait(false);
    }

    private async Task GoAwayUnlessEndedAsync(string debug)
    {
        try
        {
            await GoAwayAsync(ErrorCode.NoError, debug).ConfigureAwait(false);
        }
        catch (MuxadoSessionException)
        {
            // Already ended: nothing to tell the peer.
        }
    }

    /// <summary>
    /// Closes the session cleanly: GOAWAY(NoError, "no error"), waits up to the linger for it to be
    /// written, then closes the transport. Open streams end with <see cref="ErrorCode.SessionClosed"/>.
    /// Idempotent and safe to call from several threads at once. Every call returns once the transport is
    /// closed, so a caller that exits right after it has not cut off the GOAWAY.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        bool first;
        using (Lock.Enter())
        {
            // A closed core with no end recorded yet means a fault is on its way to End: let it report.
            first = _end is null && !Core.IsClosed;
            if (first)
            {
                Core.GoAway(ErrorCode.NoError, "no error", sessionStaysOpen: false);
                Core.Shutdown();
            }
        }
        if (first)
        {
            var remote = RemoteGoAway;
            End(new SessionEnd(ErrorCode.NoError, "closed locally", remote?.Code, remote?.Debug), lingerForGoAway: true);
        }
        await Completion.ConfigureAwait(false);
        // Set by End before Completion completes: the linger (or the drain of the GOAWAY) and the close.
        await Volatile.Read(ref _transportClosed).ConfigureAwait(false);
    }

    /// <summary>Ends the session once: records how, ends every stream and pending call, closes the transport.</summary>
    internal void End(SessionEnd end, bool lingerForGoAway, Exception? cause = null)
    {
        using (Lock.Enter())
        {
            if (_end is not null)
            {
                return;
            }
            _end = end;
            Core.Shutdown();
            var error = new MuxadoSessionException(end, cause);
            if (_live is not null)
            {
                foreach (var stream in _live)
                {
                    stream.OnSessionEndedLocked(error);
                }
            }
            Telemetry.EndedLocked(end, _live?.Count ?? 0);
            _live?.Clear();
            _roomTurns?.Clear();
            EndAcceptingLocked(error);
            _output.CompleteLocked();
        }
        try
        {
            CloseTransport(lingerForGoAway);
        }
        finally
        {
            // Whatever closing the transport did, the session has ended: callers waiting for that must hear it.
            _completion.TrySetResult(end);
            _ended.OnNext(end);
            _ended.OnCompleted();
        }
    }

    private void CloseTransport(bool linger)
    {
        if (!linger || Options.GoAwayLinger == TimeSpan.Zero)
        {
            Volatile.Write(ref _transportClosed, DisposeTransportAsync());
            return;
        }
        // Give the GOAWAY up to the linger to reach the peer: close as soon as the queue is written, or at the deadline
        // on the session's scheduler (so a test scheduler decides exactly when), whichever is first. The reader goes on
        // meanwhile (what it reads is ignored): closing a socket with unread bytes would make the kernel send a reset
        // that can destroy the GOAWAY before the peer reads it.
        var closedTcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _transportClosed, closedTcs.Task);
        int closed = 0;
        IDisposable? deadline = null;
        void CloseOnce()
        {
            if (Interlocked.Exchange(ref closed, 1) == 0)
            {
                deadline?.Dispose();
                _ = DisposeTransportAsync().ContinueWith(
                    _ => closedTcs.TrySetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        deadline = Scheduler.Schedule(Options.GoAwayLinger, CloseOnce);
        long position;
        using (Lock.Enter())
        {
            position = _output.PositionLocked;
        }
        var written = _output.WaitForWrittenAsync(position);
        if (written.IsCompleted)
        {
            CloseOnce();
        }
        else
        {
            _ = written.AsTask().ContinueWith(t =>
            {
                _ = t.Exception; // a wait that failed means the transport is gone: close all the same
                CloseOnce();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Closes the transport; never faults (a transport that fails to close is closed as far as we are concerned).</summary>
    private async Task DisposeTransportAsync()
    {
        try
        {
            _inboundSubscription.Dispose();
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nothing is left to tell: the session has ended, and Completion says how.
        }
    }

    /// <summary>A transport of the user's threw from <c>OnNext</c>: the session cannot write any more.</summary>
    private void OnOutputFailed(Exception error)
    {
        SessionFault fault;
        using (Lock.Enter())
        {
            if (_end is not null)
            {
                return;
            }
            fault = Core.Fail(ErrorCode.InternalError, "transport write failed: " + error.Message);
        }
        Fault(fault, error);
    }

    /// <summary>Ends the session because the core found a violation (its GOAWAY is already written).</summary>
    internal void Fault(SessionFault fault, Exception? cause = null)
    {
        var remote = RemoteGoAway;
        End(new SessionEnd(fault.Code, fault.Message, remote?.Code, remote?.Debug), lingerForGoAway: true, cause);
    }

    /// <summary>The stream is over (finished, closed, or reset with <paramref name="reset"/>): it needs no news of the session's end. Under the lock.</summary>
    internal void ForgetLocked(MuxStream stream, MuxadoStreamException? reset = null)
    {
        if (_live?.Remove(stream) == true)
        {
            Telemetry.StreamsEndedLocked(1);
            PublishLocked(reset is null ? StreamEventKind.Closed : StreamEventKind.Reset, stream, reset?.Code, reset?.ByPeer ?? false);
        }
    }

    /// <summary>Writes a frame from inside the lock. Frames after the end are dropped: the transport is closing.</summary>
    internal void WriteFrameLocked(in Frame frame)
    {
        if (_end is null)
        {
            Telemetry.FrameSentLocked(frame);
        }
        _output.WriteLocked(frame);
        // Whatever waits in the queue (DATA that fit, a writer's bytes, control frames that never wait for room), the
        // write watchdog ends the session if the transport makes no progress with it.
        if (!_watchdogArmed)
        {
            ArmWriteWatchdogLocked();
        }
    }
}
