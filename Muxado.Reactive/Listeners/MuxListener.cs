using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>
/// Accepts TCP (or TLS) connections and runs one <see cref="MuxSession"/> on each, handing the sessions out as
/// <see cref="Sessions"/> or through <see cref="AcceptAsync"/> (Go's <c>net.Listener</c> with <c>muxado.Server</c>).
/// </summary>
/// <remarks>
/// <para>Each session is handed out once, to one <see cref="Sessions"/> subscriber or to the <see cref="AcceptAsync"/>
/// callers in order, never both (the same rules as <see cref="MuxSession.Incoming"/>). Sessions nobody has taken yet
/// wait, and count against <see cref="MuxListenerOptions.MaxSessions"/> like running ones. A session's owner is whoever
/// took it; the listener still closes it when it stops. A connection whose TLS handshake fails or times out is closed
/// and counted in <see cref="HandshakeFailures"/>; the listener goes on.</para>
/// <para><see cref="StopAsync"/> is the graceful stop: no new connections, a GOAWAY to every live session, a wait of up
/// to the drain time for them to end, then the rest are closed.</para>
/// </remarks>
public sealed class MuxListener : IAsyncDisposable
{
    private const string TakeOnce = " Each session is taken once.";

    private readonly Socket _socket;
    private readonly MuxListenerOptions _options;
    private readonly DeferringLock _lock = new();
    private readonly HandOffQueue<MuxSession> _ready;
    private readonly HashSet<MuxSession> _live = [];
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _handshaking; // incremented by the accept loop only, decremented under _lock only
    private TaskCompletionSource? _handshakesOver; // set by the stop when connections are still handshaking
    private int _handshakeFailures;
    private bool _drained; // stopped taking sessions: one that finishes its handshake from now on is closed
    private Task? _stopped;

    private MuxListener(Socket socket, MuxListenerOptions options)
    {
        _socket = socket;
        _options = options;
        _slots = new SemaphoreSlim(options.MaxSessions, options.MaxSessions);
        _ready = new HandOffQueue<MuxSession>(_lock, options.SessionOptions.Scheduler, new(
            Taken: _ => { },
            // Contained like a throwing Incoming subscriber: the session it was handed is closed, the listener goes on.
            ObserverFaulted: session => _ = session.DisposeAsync().AsTask(),
            ObserverConflict: "The listener's sessions are taken by pending AcceptAsync calls; Sessions and AcceptAsync cannot be used at the same time." + TakeOnce,
            CallerConflict: "The listener's sessions are taken by a Sessions subscriber; Sessions and AcceptAsync cannot be used at the same time." + TakeOnce,
            SecondObserver: "Sessions already has a subscriber." + TakeOnce));
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Starts listening on <paramref name="endPoint"/> (port 0 picks a free one, see <see cref="LocalEndPoint"/>).</summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static MuxListener Start(IPEndPoint endPoint, MuxListenerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        options = (options ?? new MuxListenerOptions()).Validate();
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(options.Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new MuxListener(socket, options);
    }

    /// <summary>The address the listener is bound to.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Sessions alive now: handshaking, waiting to be taken, or running.</summary>
    public int LiveSessions
    {
        get
        {
            using (_lock.Enter())
            {
                return _live.Count + _handshaking;
            }
        }
    }

    /// <summary>Connections closed because their TLS handshake failed or timed out, since the start.</summary>
    public int HandshakeFailures => Volatile.Read(ref _handshakeFailures);

    /// <summary>
    /// The sessions, each handed out once, to one subscriber at a time; completes when the listener stops. Delivered on
    /// the sessions' scheduler (<see cref="MuxSessionOptions.Scheduler"/>). An <c>OnNext</c> that throws closes the
    /// session it was given and detaches the subscriber.
    /// </summary>
    public IObservable<MuxSession> Sessions
    {
        get
        {
            using (_lock.Enter())
            {
                return _ready.AsObservable();
            }
        }
    }

    /// <summary>Waits for the next session; concurrent callers are served in order.</summary>
    /// <exception cref="ObjectDisposedException">The listener has stopped.</exception>
    /// <exception cref="InvalidOperationException">A <see cref="Sessions"/> subscriber takes the sessions.</exception>
    public Task<MuxSession> AcceptAsync(CancellationToken cancellationToken = default) => _ready.TakeAsync(cancellationToken);

    /// <summary>The sessions as an async sequence; ends when the listener stops.</summary>
    public async IAsyncEnumerable<MuxSession> AcceptAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            MuxSession session;
            try
            {
                session = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
            {
                yield break;
            }
            yield return session;
        }
    }

    /// <summary>
    /// Stops gracefully: stops accepting, sends GOAWAY (NoError) on every live session, waits up to
    /// <paramref name="drainTimeout"/> for them to end, then closes those still running; connections still in their TLS
    /// handshake are broken off, and the stop is over once they are closed. Idempotent; every call waits for the same stop.
    /// </summary>
    public Task StopAsync(TimeSpan drainTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(drainTimeout, TimeSpan.Zero);
        // Task.Delay's bound: beyond it the stop would fail after it stopped accepting, closing nothing.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(drainTimeout, TimeSpan.FromMilliseconds(int.MaxValue - 1));
        using (_lock.Enter())
        {
            _stopped ??= StopCoreAsync(drainTimeout);
            return _stopped;
        }
    }

    /// <summary>
    /// Stops at once (<see cref="StopAsync"/> with no time to drain), or, when a stop is already under way, waits for that
    /// one with its own drain time.
    /// </summary>
    public ValueTask DisposeAsync() => new(StopAsync(TimeSpan.Zero));

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        await Task.Yield(); // never under the caller's lock scope
        _stopping.Cancel();
        _socket.Dispose(); // breaks off a pending accept
        await _acceptLoop.ConfigureAwait(false);
        MuxSession[] live;
        Task handshakes;
        using (_lock.Enter())
        {
            _drained = true;
            _ready.EndLocked(new ObjectDisposedException(nameof(MuxListener), "The listener has stopped."), observerError: null);
            live = [.. _live];
            // The accept loop has ended, so no connection starts any more: those still handshaking (cancelled by the stop)
            // close themselves, and the stop is not over before they have.
            if (Volatile.Read(ref _handshaking) != 0)
            {
                _handshakesOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            handshakes = _handshakesOver?.Task ?? Task.CompletedTask;
        }
        await Task.WhenAll(live.Select(s => s.DrainAsync(drainTimeout, "listener stopping"))).ConfigureAwait(false);
        await handshakes.ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync()
    {
        var backoff = TimeSpan.Zero;
        while (true)
        {
            try
            {
                await _slots.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Socket connection;
            try
            {
                connection = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                backoff = TimeSpan.Zero;
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                _slots.Release();
                return;
            }
            catch (SocketException)
            {
                // Out of file descriptors or the like: wait a little and try again, as Go's http.Server does.
                _slots.Release();
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(5) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                try
                {
                    await Task.Delay(backoff, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            Interlocked.Increment(ref _handshaking);
            _ = StartSessionAsync(connection);
        }
    }

    /// <summary>Runs one connection's session: TLS first when configured, then the session, handed to the takers.</summary>
    private async Task StartSessionAsync(Socket connection)
    {
        MuxSession? session = null;
        try
        {
            connection.NoDelay = true;
            var options = _options.SessionOptionsFor?.Invoke(connection.RemoteEndPoint!) ?? _options.SessionOptions;
            if (_options.Tls is { } tls)
            {
                var stream = new SslStream(new NetworkStream(connection, ownsSocket: true));
                try
                {
                    using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                    handshake.CancelAfter(_options.HandshakeTimeout);
                    await stream.AuthenticateAsServerAsync(tls, handshake.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // A handshake the stop broke off is no failure of the peer's; either way the stream is released.
                    if (!_stopping.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref _handshakeFailures);
                    }
                    await stream.DisposeAsync().ConfigureAwait(false);
                    return;
                }
                session = MuxSession.Create(stream, _options.Role, options);
            }
            else
            {
                session = MuxSession.Create(connection, _options.Role, options);
            }
        }
        catch (Exception)
        {
            // Options that throw, a connection already reset, or a stop during the handshake: this connection only.
            connection.Dispose();
            session = null;
        }
        finally
        {
            if (session is null)
            {
                HandshakeOver();
                ReleaseSlot();
            }
        }
        if (session is null)
        {
            return;
        }
        bool stopped;
        using (_lock.Enter())
        {
            stopped = _drained;
            if (!stopped)
            {
                Interlocked.Decrement(ref _handshaking);
                _live.Add(session);
                _ready.EnqueueLocked(session);
            }
        }
        if (stopped)
        {
            // Too late for the stop's snapshot: closed here, and counted as handshaking until it is, for the stop to wait.
            await session.DisposeAsync().ConfigureAwait(false);
            HandshakeOver();
            ReleaseSlot();
            return;
        }
        await session.Completion.ConfigureAwait(false);
        using (_lock.Enter())
        {
            _live.Remove(session);
            _ready.RemoveLocked(s => ReferenceEquals(s, session)); // ended before anyone took it
        }
        ReleaseSlot();
    }

    /// <summary>A connection is done handshaking without becoming a live session: tells a stop waiting for the last one.</summary>
    private void HandshakeOver()
    {
        TaskCompletionSource? over;
        using (_lock.Enter())
        {
            over = Interlocked.Decrement(ref _handshaking) == 0 ? _handshakesOver : null;
        }
        over?.TrySetResult();
    }

    private void ReleaseSlot()
    {
        try
        {
            _slots.Release();
        }
        catch (ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
