using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing;

/// <summary>
/// A client and a server <see cref="MuxSession"/> back to back over the in-memory transport, on one
/// <see cref="BoundedTestScheduler"/>: nothing happens until the test runs the scheduler, and every frame each side
/// writes is recorded with its virtual time.
/// </summary>
/// <remarks>
/// <para>Both sessions, the transports and anything started on the sessions (a <see cref="Heartbeat"/>) use
/// <see cref="Scheduler"/>. Drive it with <see cref="RunUntilIdle"/> (bounded: a livelock fails with a
/// <see cref="TestFailureException"/> instead of hanging), <see cref="RunFor"/> for timers, or
/// <see cref="Run{T}(Task{T})"/> to wait for a task in virtual time.</para>
/// <para>The pair owns both sessions: <see cref="DisposeAsync"/> closes them and runs the scheduler until they have
/// ended.</para>
/// </remarks>
public sealed class VirtualSessionPair : IAsyncDisposable
{
    private readonly RecordingFrameTransport _clientTransport;
    private readonly RecordingFrameTransport _serverTransport;

    /// <summary>Creates the pair.</summary>
    /// <param name="options">The client's options (and the server's when <paramref name="serverOptions"/> is null); their scheduler is replaced.</param>
    /// <param name="serverOptions">The server's options, when they differ.</param>
    /// <param name="scheduler">The scheduler to use (default a new one).</param>
    public VirtualSessionPair(MuxSessionOptions? options = null, MuxSessionOptions? serverOptions = null, BoundedTestScheduler? scheduler = null)
    {
        Scheduler = scheduler ?? new BoundedTestScheduler();
        var clientOptions = Scheduler.SessionOptions(options);
        var serverSide = Scheduler.SessionOptions(serverOptions ?? options);
        // Each end keeps what its own session can accept, as a real reader configured from the options would.
        var limits = new FrameReaderLimits(
            Math.Max(clientOptions.ReaderLimits.MaxDataLength, serverSide.ReaderLimits.MaxDataLength),
            Math.Max(clientOptions.ReaderLimits.MaxDebugLength, serverSide.ReaderLimits.MaxDebugLength),
            Math.Max(clientOptions.ReaderLimits.MaxUnknownLength, serverSide.ReaderLimits.MaxUnknownLength));
        var (left, right) = Scheduler.CreateInMemoryPair(limits);
        _clientTransport = new RecordingFrameTransport(left, Scheduler);
        _serverTransport = new RecordingFrameTransport(right, Scheduler);
        Client = MuxSession.Client(_clientTransport, clientOptions);
        Server = MuxSession.Server(_serverTransport, serverSide);
    }

    /// <summary>The scheduler both sessions and the transports run on.</summary>
    public BoundedTestScheduler Scheduler { get; }

    /// <summary>The client session (opens odd stream ids).</summary>
    public MuxSession Client { get; }

    /// <summary>The server session (opens even stream ids).</summary>
    public MuxSession Server { get; }

    /// <summary>Every frame the client wrote, with its virtual time.</summary>
    public FrameRecorder ClientFrames => _clientTransport.Written;

    /// <summary>Every frame the server wrote, with its virtual time.</summary>
    public FrameRecorder ServerFrames => _serverTransport.Written;

    /// <summary>Virtual time at which the client's session closed its transport, or null while open.</summary>
    public long? ClientTransportClosedAt => _clientTransport.DisposedAt;

    /// <summary>Virtual time at which the server's session closed its transport, or null while open.</summary>
    public long? ServerTransportClosedAt => _serverTransport.DisposedAt;

    /// <summary>Runs everything scheduled (deliveries, drains, timers) until nothing is left.</summary>
    /// <exception cref="TestFailureException">More than <paramref name="maxSteps"/> items ran (a livelock or a periodic timer).</exception>
    public int RunUntilIdle(int? maxSteps = null) => Scheduler.RunUntilIdle(maxSteps);

    /// <summary>Moves virtual time on by <paramref name="duration"/>, running what falls due.</summary>
    /// <exception cref="TestFailureException">More than <paramref name="maxSteps"/> items ran.</exception>
    public int RunFor(TimeSpan duration, int? maxSteps = null) => Scheduler.RunFor(duration, maxSteps);

    /// <summary>Runs the scheduler until <paramref name="task"/> completes and returns its result.</summary>
    /// <exception cref="TestFailureException">The task still waits when the scheduler has nothing left to run.</exception>
    public T Run<T>(Task<T> task) => Scheduler.RunUntilCompleted(task);

    /// <summary>Runs the scheduler until <paramref name="task"/> completes (rethrowing its exception).</summary>
    /// <exception cref="TestFailureException">The task still waits when the scheduler has nothing left to run.</exception>
    public void Run(Task task) => Scheduler.RunUntilCompleted(task).GetAwaiter().GetResult();

    /// <summary>Closes both sessions and runs the scheduler until both have ended.</summary>
    /// <exception cref="TestFailureException">A session did not finish closing.</exception>
    public ValueTask DisposeAsync()
    {
        var closing = Task.WhenAll(Client.DisposeAsync().AsTask(), Server.DisposeAsync().AsTask());
        Scheduler.RunUntilCompleted(closing).GetAwaiter().GetResult();
        return default;
    }
}
