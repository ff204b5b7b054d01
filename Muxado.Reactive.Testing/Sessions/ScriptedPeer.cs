using System.Globalization;
using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Testing;

/// <summary>
/// A session under test facing a peer that the test plays frame by frame: the test writes the frames the session
/// reads (by call or as marbles, including frames no honest peer would send, or the WNDINC a slow peer withholds)
/// and checks the exact frames the session writes back, in the style of python-hyper/h2's tests.
/// </summary>
/// <remarks>
/// <para>The session runs on <see cref="Scheduler"/> over a transport made with
/// <see cref="FrameTransport.Create(IObservable{Frame}, IObserver{Frame}, IDisposable?)"/>: what the test sends goes
/// straight to the session's reader, and what the session writes is recorded by <see cref="Written"/>. The session's
/// own work (deliveries to the application, credit, timers) runs when the scheduler runs; every check runs the
/// scheduler until idle first, so it sees the session's complete answer.</para>
/// <para>When the session closes the transport, the peer records the time (<see cref="TransportClosedAt"/>) and ends
/// the inbound side, as a real connection does.</para>
/// </remarks>
/// <example>
/// <code>
/// await using var peer = ScriptedPeer.ForServer();         // the session under test is a server
/// peer.Session.Incoming.Subscribe(s =&gt; s.Received.Subscribe(_ =&gt; { }));
/// peer.Send(Frame.Data(1, "hi"u8.ToArray(), FrameFlags.Syn));
/// peer.ExpectWritten(Frame.WndInc(1, 2));                  // the credit for the two bytes read
/// </code>
/// </example>
public sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly Subject<Frame> _inbound = new();
    private bool _inboundEnded;

    private ScriptedPeer(SessionRole role, MuxSessionOptions? options, BoundedTestScheduler? scheduler, MarbleTiming? timing)
    {
        Scheduler = scheduler ?? new BoundedTestScheduler();
        Timing = (timing ?? MarbleTiming.Default).Validate();
        Written = new FrameRecorder(Scheduler);
        var transport = FrameTransport.Create(_inbound, Written, Disposable.Create(OnTransportClosed));
        var sessionOptions = Scheduler.SessionOptions(options);
        Session = role == SessionRole.Client ? MuxSession.Client(transport, sessionOptions) : MuxSession.Server(transport, sessionOptions);
    }

    /// <summary>A peer facing a server session under test: the peer plays the client (it opens odd stream ids).</summary>
    /// <param name="options">The session's options; their scheduler is replaced by the peer's.</param>
    /// <param name="scheduler">The scheduler to use (default a new one).</param>
    /// <param name="timing">Where marbles given to the peer start, and their frame length (default <see cref="MarbleTiming.Default"/>).</param>
    public static ScriptedPeer ForServer(MuxSessionOptions? options = null, BoundedTestScheduler? scheduler = null, MarbleTiming? timing = null) =>
        new(SessionRole.Server, options, scheduler, timing);

    /// <summary>A peer facing a client session under test: the peer plays the server (it opens even stream ids).</summary>
    /// <param name="options">The session's options; their scheduler is replaced by the peer's.</param>
    /// <param name="scheduler">The scheduler to use (default a new one).</param>
    /// <param name="timing">Where marbles given to the peer start, and their frame length (default <see cref="MarbleTiming.Default"/>).</param>
    public static ScriptedPeer ForClient(MuxSessionOptions? options = null, BoundedTestScheduler? scheduler = null, MarbleTiming? timing = null) =>
        new(SessionRole.Client, options, scheduler, timing);

    /// <summary>The scheduler the session runs on.</summary>
    public BoundedTestScheduler Scheduler { get; }

    /// <summary>The session under test.</summary>
    public MuxSession Session { get; }

    /// <summary>Everything the session wrote, with its virtual time (and the end of its outbound side).</summary>
    public FrameRecorder Written { get; }

    /// <summary>Time zero and frame length of the marbles given to <see cref="Send(string, IReadOnlyDictionary{char, Frame}?, Exception?)"/> and <see cref="ExpectTimeline"/>.</summary>
    public MarbleTiming Timing { get; }

    /// <summary>The virtual time at which the session closed the transport, or null while it is open.</summary>
    public long? TransportClosedAt { get; private set; }

    /// <summary>Hands <paramref name="frame"/> to the session's reader now, as if it had just arrived.</summary>
    /// <exception cref="InvalidOperationException">The inbound side has ended.</exception>
    public void Send(Frame frame)
    {
        ThrowIfEnded();
        _inbound.OnNext(frame);
    }

    /// <summary>Hands the frames to the session's reader now, in order.</summary>
    /// <exception cref="InvalidOperationException">The inbound side has ended.</exception>
    public void Send(params Frame[] frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        foreach (var frame in frames)
        {
            Send(frame);
        }
    }

    /// <summary>
    /// Schedules the timeline drawn by <paramref name="marbles"/> (frame literals or legend characters; time zero at
    /// <see cref="Timing"/>'s origin) as what the session reads: each frame at its time, <c>|</c> as the end of the
    /// connection, <c>#</c> as a failed connection.
    /// </summary>
    /// <exception cref="MarbleFormatException">Malformed marbles.</exception>
    /// <exception cref="ArgumentException">An event is before the current virtual time.</exception>
    public void Send(string marbles, IReadOnlyDictionary<char, Frame>? legend = null, Exception? error = null)
    {
        var script = FrameMarbles.Parse(marbles, legend, error, Timing);
        foreach (var message in script)
        {
            if (message.Time < Scheduler.Clock)
            {
                throw new ArgumentException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The marbles put an event at tick {message.Time}, before the current virtual time {Scheduler.Clock}."), nameof(marbles));
            }
        }
        foreach (var message in script)
        {
            var notification = message.Value;
            Scheduler.ScheduleAbsolute<object?>(null, message.Time, (_, _) =>
            {
                if (!_inboundEnded)
                {
                    _inboundEnded = notification.Kind != NotificationKind.OnNext;
                    notification.Accept(_inbound);
                }
                return Disposable.Empty;
            });
        }
    }

    /// <summary>Ends the connection from the peer's side now: the session reads end of stream.</summary>
    public void Close()
    {
        if (!_inboundEnded)
        {
            _inboundEnded = true;
            _inbound.OnCompleted();
        }
    }

    /// <summary>Fails the connection now: the session's reader sees <paramref name="error"/>.</summary>
    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!_inboundEnded)
        {
            _inboundEnded = true;
            _inbound.OnError(error);
        }
    }

    /// <summary>Runs the scheduler until nothing is left, then returns the frames written since the last check.</summary>
    /// <exception cref="TestFailureException">A run exceeded its bound.</exception>
    public IReadOnlyList<Frame> TakeWritten()
    {
        Scheduler.RunUntilIdle();
        return Written.TakeNew();
    }

    /// <summary>
    /// Runs the scheduler until nothing is left, then checks that the session wrote exactly <paramref name="frames"/>
    /// since the last check (<see cref="ExpectWritten"/>, <see cref="ExpectNothingWritten"/> or <see cref="TakeWritten"/>).
    /// </summary>
    /// <exception cref="TestFailureException">Other frames were written; the message lists both.</exception>
    public void ExpectWritten(params Frame[] frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var written = TakeWritten();
        if (RecordedAssert.Table(frames.ToList(), written.ToList(), (a, b) => a == b, FrameMarbles.FormatFrame) is { } table)
        {
            throw new TestFailureException(string.Create(
                CultureInfo.InvariantCulture, $"The session wrote other frames than expected (by virtual time {Scheduler.Clock}).{Environment.NewLine}{table}"));
        }
    }

    /// <summary>Runs the scheduler until nothing is left and checks that the session wrote nothing since the last check.</summary>
    /// <exception cref="TestFailureException">Something was written.</exception>
    public void ExpectNothingWritten() => ExpectWritten();

    /// <summary>
    /// Runs the scheduler until nothing is left, then checks everything the session wrote since it started against
    /// <paramref name="marbles"/> (time zero at <see cref="Timing"/>'s origin; <c>|</c> is the session closing its
    /// sending side).
    /// </summary>
    /// <exception cref="TestFailureException">The timelines differ; the message draws both.</exception>
    public void ExpectTimeline(string marbles, IReadOnlyDictionary<char, Frame>? legend = null, Exception? error = null)
    {
        Scheduler.RunUntilIdle();
        FrameMarbles.Expect(Written.Messages, marbles, legend, error, Timing);
    }

    /// <summary>Closes the session under test and runs the scheduler until it has ended.</summary>
    public ValueTask DisposeAsync()
    {
        Scheduler.RunUntilCompleted(Session.DisposeAsync().AsTask()).GetAwaiter().GetResult();
        return default;
    }

    private void OnTransportClosed()
    {
        TransportClosedAt ??= Scheduler.Clock;
        // A closed connection stops delivering; completing Inbound from here would call back into the session.
        Scheduler.Schedule(Close);
    }

    private void ThrowIfEnded()
    {
        if (_inboundEnded)
        {
            throw new InvalidOperationException("The connection has ended; the session reads nothing more.");
        }
    }
}
