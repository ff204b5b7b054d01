using System.IO.Pipelines;
using System.Net.Sockets;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive;

/// <summary>
/// A muxado session: many full-duplex <see cref="MuxStream"/>s over one transport (DESIGN.md layer 3).
/// </summary>
/// <remarks>
/// <para>Every input (a frame read, an open, a write, a read, a close) is applied to the sans-IO protocol
/// core under one lock; frames go to <see cref="FrameTransport.Outbound"/> from inside that lock, so they
/// leave in exactly the order the core produced them and a payload is serialised before a write returns.
/// Application code (observers, continuations) never runs under the lock: data and streams are delivered
/// by work items on <see cref="MuxSessionOptions.Scheduler"/>, one drain per stream, so a slow subscriber
/// stalls only its own stream, whose memory is bounded by the window.</para>
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
    private readonly HashSet<MuxStream> _live = [];
    private SessionEnd? _end;
    private bool _queueWatchdogArmed;
    private (ErrorCode Code, string Debug)? _remoteGoAway;
    private Task _transportClosed = Task.CompletedTask;

    private MuxSession(FrameTransport transport, SessionRole role, MuxSessionOptions? options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Options = (options ?? MuxSessionOptions.Default).Validate();
        Role = role;
        _transport = transport;
        Core = new ProtocolCore(role, Options, new Sink(this));
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

    /// <summary>Yields one <see cref="SessionEnd"/> and completes when the session ends.</summary>
    public IObservable<SessionEnd> Ended => _ended;

    /// <summary>The peer's GOAWAY code and debug text, once one has arrived.</summary>
    public (ErrorCode Code, string Debug)? RemoteGoAway { get { lock (Gate) { return _remoteGoAway; } } }

    internal object Gate { get; } = new();
    internal ProtocolCore Core { get; }
    internal IScheduler Scheduler => Options.Scheduler;
    internal long NowTicks => Scheduler.Now.UtcTicks;

    /// <summary>
    /// Opens a stream. No handshake: the SYN goes out at once and the stream is usable immediately.
    /// </summary>
    /// <exception cref="MuxadoException">With <see cref="ErrorCode.RemoteGoneAway"/> after the peer's GOAWAY,
    /// <see cref="ErrorCode.StreamsExhausted"/> when ids ran out, <see cref="ErrorCode.SessionClosed"/> after the end.</exception>
    public MuxStream Open()
    {
        lock (Gate)
        {
            var stream = new MuxStream(this);
            var code = Core.TryOpen(stream, out uint id);
            if (code != ErrorCode.NoError)
            {
                throw OpenFailure(code);
            }
            stream.Id = id;
            _live.Add(stream);
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
    /// (Go's padding frame follows so that a Go reader stays in sync).
    /// </summary>
    public Task GoAwayAsync(ErrorCode code = ErrorCode.NoError, string debug = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(debug);
        if (System.Text.Encoding.UTF8.GetByteCount(debug) > Frame.MaxBodyLength - Frame.GoAwayFixedLength)
        {
            throw new ArgumentOutOfRangeException(nameof(debug), "The GOAWAY debug text does not fit in one frame.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        lock (Gate)
        {
            if (_end is not null)
            {
                return Task.FromException(new MuxadoSessionException(_end));
            }
            Core.GoAway(code, debug, sessionStaysOpen: true);
        }
        return Task.CompletedTask;
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
        lock (Gate)
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
        MuxStream[] streams;
        lock (Gate)
        {
            if (_end is not null)
            {
                return;
            }
            _end = end;
            Core.Shutdown();
            streams = [.. _live];
            _live.Clear();
        }
        var error = new MuxadoSessionException(end, cause);
        foreach (var stream in streams)
        {
            stream.OnSessionEnded(error);
        }
        EndAccepting(end);
        CloseTransport(lingerForGoAway);
        _completion.TrySetResult(end);
        _ended.OnNext(end);
        _ended.OnCompleted();
    }

    private void CloseTransport(bool linger)
    {
        _inboundSubscription.Dispose();
        try
        {
            _transport.Outbound.OnCompleted();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // The transport is already gone; nothing is left to flush.
        }
        if (!linger || Options.GoAwayLinger == TimeSpan.Zero)
        {
            Volatile.Write(ref _transportClosed, _transport.DisposeAsync().AsTask());
            return;
        }
        // Give the GOAWAY up to the linger to reach the peer: close as soon as the queue is written, or at
        // the deadline on the session's scheduler (so a test scheduler decides exactly when), whichever is first.
        var closedTcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _transportClosed, closedTcs.Task);
        int closed = 0;
        IDisposable? deadline = null;
        void CloseOnce()
        {
            if (Interlocked.Exchange(ref closed, 1) == 0)
            {
                deadline?.Dispose();
                _ = _transport.DisposeAsync().AsTask().ContinueWith(
                    _ => closedTcs.TrySetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        deadline = Scheduler.Schedule(Options.GoAwayLinger, CloseOnce);
        var drained = _transport.WaitForWriteSpaceAsync(0);
        if (drained.IsCompleted)
        {
            CloseOnce();
        }
        else
        {
            _ = drained.AsTask().ContinueWith(_ => CloseOnce(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Ends the session because the core found a violation (its GOAWAY is already written).</summary>
    internal void Fault(SessionFault fault, Exception? cause = null)
    {
        var remote = RemoteGoAway;
        End(new SessionEnd(fault.Code, fault.Message, remote?.Code, remote?.Debug), lingerForGoAway: true, cause);
    }

    /// <summary>The stream needs no news of the session's end any more (finished or reset). Under the lock.</summary>
    internal void ForgetLocked(MuxStream stream) => _live.Remove(stream);

    /// <summary>
    /// Completes a waiter from the scheduler, never from inside the lock: its continuation then runs like
    /// any other delivery (on a test scheduler, deterministically, when the clock is advanced).
    /// </summary>
    internal void CompleteLater<T>(TaskCompletionSource<T> waiter, T value) => Scheduler.Schedule(() => waiter.TrySetResult(value));

    /// <summary>Fails a waiter from the scheduler (see <see cref="CompleteLater{T}"/>).</summary>
    internal void FailLater<T>(TaskCompletionSource<T> waiter, Exception error) => Scheduler.Schedule(() => waiter.TrySetException(error));

    /// <summary>Writes a frame from inside the lock. Frames after the end are dropped: the transport is closing.</summary>
    internal void WriteFrameLocked(in Frame frame)
    {
        _transport.Outbound.OnNext(frame);
        // DATA waits for queue space, control frames cannot (they must never queue behind DATA). A queue far
        // above its bound therefore means replies pile up for a peer that stopped reading: give it the write
        // timeout, then end the session rather than grow the queue for ever.
        if (!_queueWatchdogArmed && _transport.PendingWriteBytes > ControlQueueLimit)
        {
            _queueWatchdogArmed = true;
            Scheduler.Schedule(Options.WriteTimeout, CheckOverfullQueue);
        }
    }

    private long ControlQueueLimit => 4 * Options.MaxWriteQueueBytes;

    private void CheckOverfullQueue()
    {
        SessionFault? fault = null;
        lock (Gate)
        {
            _queueWatchdogArmed = false;
            if (_end is null && _transport.PendingWriteBytes > ControlQueueLimit)
            {
                fault = Core.Fail(ErrorCode.WriteTimeout, "the peer read nothing of the write queue for " + Options.WriteTimeout);
            }
        }
        if (fault is not null)
        {
            Fault(fault);
        }
    }

    /// <summary>
    /// Holds back DATA while the transport's queue is over its bound (the peer is not reading), and ends the
    /// session with <see cref="ErrorCode.WriteTimeout"/> when it stays there for <see cref="MuxSessionOptions.WriteTimeout"/>.
    /// </summary>
    internal ValueTask WaitForTransportSpaceAsync(CancellationToken cancellationToken) =>
        _transport.PendingWriteBytes <= Options.MaxWriteQueueBytes ? default : WaitForTransportSpaceSlowAsync(cancellationToken);

    // Kept apart from the check above so that the common case (room in the queue) allocates nothing: an async
    // method allocates its closures on entry, before any early return.
    private async ValueTask WaitForTransportSpaceSlowAsync(CancellationToken cancellationToken)
    {
        // The timer is only set up when there really is a wait: a queue over its bound usually drains
        // within one OS write. The deadline runs on the session scheduler, so it is testable in virtual time.
        var wait = _transport.WaitForWriteSpaceAsync(Options.MaxWriteQueueBytes, CancellationToken.None);
        if (wait.IsCompleted)
        {
            await wait.ConfigureAwait(false);
            return;
        }
        var drained = wait.AsTask();
        // Completed from a scheduler work item, never under the lock, so its continuation may run inline.
        var timedOut = new TaskCompletionSource();
        using (Scheduler.Schedule(Options.WriteTimeout, () => timedOut.TrySetResult()))
        {
            var first = await Task.WhenAny(drained, timedOut.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (first == drained)
            {
                await drained.ConfigureAwait(false);
                return;
            }
        }
        SessionFault fault;
        lock (Gate)
        {
            fault = Core.Fail(ErrorCode.WriteTimeout, "transport accepted no bytes for " + Options.WriteTimeout);
        }
        Fault(fault);
        throw new MuxadoSessionException(_end!);
    }
}
