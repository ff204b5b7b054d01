using Muxado.Reactive.Frames;
using Muxado.Reactive.Tests.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Two sessions back to back over the in-memory transport, all on one <see cref="TestScheduler"/>
/// (quinn's <c>Pair</c>): nothing happens until the test drives the clock, and <see cref="Run"/> is
/// bounded so that a livelock fails instead of hanging. Every frame each side writes is recorded with its time.
/// </summary>
internal sealed class SessionPair : IAsyncDisposable
{
    public SessionPair(MuxSessionOptions? options = null, MuxSessionOptions? serverOptions = null)
    {
        var (left, right) = FrameTransport.CreateInMemoryPair(Scheduler);
        var clientOptions = WithScheduler(options);
        Client = MuxSession.Client(Record(left, ClientFrames), clientOptions);
        Server = MuxSession.Server(Record(right, ServerFrames), WithScheduler(serverOptions ?? options));
    }

    public TestScheduler Scheduler { get; } = new();
    public MuxSession Client { get; }
    public MuxSession Server { get; }
    /// <summary>Frames the client wrote, with the virtual time they were written at.</summary>
    public List<(long Time, Frame Frame)> ClientFrames { get; } = [];
    /// <summary>Frames the server wrote, with the virtual time they were written at.</summary>
    public List<(long Time, Frame Frame)> ServerFrames { get; } = [];

    /// <summary>Runs every scheduled item (deliveries, drains, timers) until nothing is left.</summary>
    public int Run(int maxSteps = 100_000) => Scheduler.RunUntilIdleInline(maxSteps);

    /// <summary>Advances the virtual clock by <paramref name="time"/>, running what falls due.</summary>
    public void Advance(TimeSpan time) => Scheduler.RunToInline(Scheduler.Clock + time.Ticks);

    private MuxSessionOptions WithScheduler(MuxSessionOptions? options) => (options ?? new MuxSessionOptions()) with { Scheduler = Scheduler };

    private FrameTransport Record(FrameTransport inner, List<(long, Frame)> log)
    {
        var recorder = new RecordingObserver(inner.Outbound, log, Scheduler);
        return FrameTransport.Create(inner.Inbound, recorder, new AsyncDisposableAdapter(inner));
    }

    public async ValueTask DisposeAsync()
    {
        var closing = Task.WhenAll(Client.DisposeAsync().AsTask(), Server.DisposeAsync().AsTask());
        Run();
        await closing.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private sealed class RecordingObserver(IObserver<Frame> inner, List<(long, Frame)> log, TestScheduler scheduler) : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
            lock (log)
            {
                var copy = value.Type == FrameType.Data ? Frame.Data(value.StreamId, value.Payload.ToArray(), value.Flags) : value;
                log.Add((scheduler.Clock, copy));
            }
            inner.OnNext(value);
        }

        public void OnCompleted() => inner.OnCompleted();
        public void OnError(Exception error) => inner.OnError(error);
    }

    private sealed class AsyncDisposableAdapter(FrameTransport inner) : IDisposable
    {
        public void Dispose() => inner.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
