using System.Net;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Text;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary><see cref="MuxSession.Reconnecting"/>: backoff in virtual time, exact to the tick, and one run over loopback TCP.</summary>
public class ReconnectingSessionTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    /// <summary>A connect delegate over in-memory pairs on the test scheduler; the test decides which attempts fail.</summary>
    private sealed class Dialer(BoundedTestScheduler scheduler)
    {
        public List<long> Attempts { get; } = [];
        public List<MuxSession> Servers { get; } = [];
        public Func<int, Exception?> FailAttempt { get; set; } = _ => null;

        public Task<FrameTransport> Connect(CancellationToken cancellationToken)
        {
            Attempts.Add(scheduler.Clock);
            if (FailAttempt(Attempts.Count) is { } error)
            {
                throw error;
            }
            var (client, server) = scheduler.CreateInMemoryPair();
            Servers.Add(MuxSession.Server(server, scheduler.SessionOptions()));
            return Task.FromResult(client);
        }
    }

    private static ReconnectOptions Options(BoundedTestScheduler scheduler, double random = 0.5) => new()
    {
        Session = scheduler.SessionOptions(),
        InitialDelay = 100 * Ms,
        MaxDelay = TimeSpan.FromSeconds(1),
        Multiplier = 2,
        Jitter = 0.2,
        RandomSource = () => random,
    };

    private static List<(long Time, T Event)> Of<T>(ITestableObserver<ReconnectEvent> observer) =>
        observer.Messages.Where(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext && m.Value.Value is T)
            .Select(m => (m.Time, (T)(object)m.Value.Value)).ToList();

    [Test]
    public async Task A_session_that_ends_is_followed_by_a_new_one_exactly_one_jittered_initial_delay_later()
    {
        var scheduler = new BoundedTestScheduler();
        var dialer = new Dialer(scheduler);
        // 0.75 is +50 % of the jitter range: 100 ms × (1 + 0.2 × 0.5) = 110 ms.
        var events = scheduler.Record(MuxSession.ReconnectEvents(dialer.Connect, Options(scheduler, random: 0.75)));
        Assert.That(dialer.Attempts, Is.Empty, "the connect delegate is not called inside Subscribe");

        scheduler.RunUntilIdle();
        Assert.That(dialer.Attempts, Has.Count.EqualTo(1));
        var first = Of<ReconnectEvent.Connected>(events).Single().Event;
        Assert.That(first.Attempt, Is.EqualTo(1));

        scheduler.RunFor(TimeSpan.FromSeconds(5));
        Assert.That(dialer.Attempts, Has.Count.EqualTo(1), "no attempt while the session lives");

        _ = dialer.Servers[0].DisposeAsync().AsTask();
        scheduler.RunFor(TimeSpan.FromMilliseconds(50));
        var ended = Of<ReconnectEvent.SessionEnded>(events).Single();
        Assert.That(ended.Event.Session, Is.SameAs(first.Session));
        Assert.That(ended.Event.End.LocalError, Is.EqualTo(ErrorCode.PeerEOF), "the reason the session ended is reported");
        Assert.That(ended.Event.End.RemoteError, Is.EqualTo(ErrorCode.NoError));
        Assert.That(ended.Event.End, Is.EqualTo(await first.Session.Completion));
        Assert.That(ended.Event.NextDelay, Is.EqualTo(110 * Ms));

        scheduler.RunTo(ended.Time + (110 * Ms).Ticks - 1);
        Assert.That(dialer.Attempts, Has.Count.EqualTo(1), "not a tick early");
        scheduler.RunTo(ended.Time + (110 * Ms).Ticks);
        Assert.That(dialer.Attempts, Is.EqualTo(new[] { dialer.Attempts[0], ended.Time + (110 * Ms).Ticks }));
        scheduler.RunFor(Ms);
        var connected = Of<ReconnectEvent.Connected>(events);
        Assert.That(connected, Has.Count.EqualTo(2));
        Assert.That(connected[1].Event.Session, Is.Not.SameAs(first.Session));
        Assert.That(connected[1].Event.Session.Completion.IsCompleted, Is.False);
        Assert.That(events.Messages.Select(m => m.Value.Kind), Has.All.EqualTo(System.Reactive.NotificationKind.OnNext));
    }

    [Test]
    public void Failed_connects_back_off_exponentially_up_to_the_maximum_and_a_success_starts_again_from_the_initial_delay()
    {
        var scheduler = new BoundedTestScheduler();
        var dialer = new Dialer(scheduler) { FailAttempt = n => n is <= 6 or 8 ? new SocketException((int)SocketError.ConnectionRefused) : null };
        var options = Options(scheduler) with { Jitter = 0 };
        var events = scheduler.Record(MuxSession.ReconnectEvents(dialer.Connect, options));

        scheduler.RunFor(TimeSpan.FromSeconds(10));
        var failures = Of<ReconnectEvent.ConnectFailed>(events);
        Assert.That(failures.Take(6).Select(f => f.Event.NextDelay), Is.EqualTo(new TimeSpan?[]
        {
            100 * Ms, 200 * Ms, 400 * Ms, 800 * Ms, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1),
        }));
        Assert.That(failures.Take(6).Select(f => f.Event.Attempt), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(failures[0].Event.Error, Is.InstanceOf<SocketException>(), "what the delegate threw is the reason");
        // Each attempt is made exactly its delay after the failure was reported.
        for (var i = 0; i < 6; i++)
        {
            Assert.That(dialer.Attempts[i + 1] - failures[i].Time, Is.EqualTo(failures[i].Event.NextDelay!.Value.Ticks), $"attempt {i + 2}");
        }
        var connected = Of<ReconnectEvent.Connected>(events).Single();
        Assert.That(connected.Event.Attempt, Is.EqualTo(7));

        // The session lived: after its end the wait is the initial delay again, and the next failure counts from 1.
        _ = dialer.Servers[0].DisposeAsync().AsTask();
        scheduler.RunFor(TimeSpan.FromSeconds(1));
        var ended = Of<ReconnectEvent.SessionEnded>(events).Single();
        Assert.That(ended.Event.NextDelay, Is.EqualTo(100 * Ms));
        Assert.That(dialer.Attempts[7] - ended.Time, Is.EqualTo((100 * Ms).Ticks));
        Assert.That(failures.Count, Is.EqualTo(6));
        var again = Of<ReconnectEvent.ConnectFailed>(events)[6].Event;
        Assert.That((again.Attempt, again.NextDelay), Is.EqualTo((1, (TimeSpan?)(100 * Ms))));
        Assert.That(Of<ReconnectEvent.Connected>(events), Has.Count.EqualTo(2), "the 9th attempt connected");
    }

    [Test]
    public void Jitter_moves_each_delay_by_its_fraction_and_never_beyond_the_maximum()
    {
        var scheduler = new BoundedTestScheduler();
        var samples = new Queue<double>([0.0, 0.999_999, 0.999_999, 0.999_999, 0.999_999]);
        var dialer = new Dialer(scheduler) { FailAttempt = n => n <= 5 ? new IOException("down") : null };
        var options = Options(scheduler) with { RandomSource = samples.Dequeue };
        var events = scheduler.Record(MuxSession.ReconnectEvents(dialer.Connect, options));
        scheduler.RunFor(TimeSpan.FromSeconds(10));

        var delays = Of<ReconnectEvent.ConnectFailed>(events).Select(f => f.Event.NextDelay!.Value).ToList();
        Assert.That(delays[0], Is.EqualTo(80 * Ms), "100 ms - 20 %");
        Assert.That(delays[1].TotalMilliseconds, Is.EqualTo(240).Within(0.001), "200 ms + 20 %");
        Assert.That(delays[2].TotalMilliseconds, Is.EqualTo(480).Within(0.001), "400 ms + 20 %");
        Assert.That(delays[3].TotalMilliseconds, Is.EqualTo(960).Within(0.001), "800 ms + 20 %, still below the maximum");
        Assert.That(delays[4], Is.EqualTo(TimeSpan.FromSeconds(1)), "1.6 s capped at 1 s, jittered up to 1.2 s, capped again");
    }

    [Test]
    public void After_MaxAttempts_failures_in_a_row_the_sequence_fails_with_the_last_error()
    {
        var scheduler = new BoundedTestScheduler();
        var errors = new List<Exception>();
        var dialer = new Dialer(scheduler) { FailAttempt = n => { var e = new IOException($"refused {n}"); errors.Add(e); return e; } };
        var options = Options(scheduler) with { MaxAttempts = 3 };
        var sessions = scheduler.Record(MuxSession.Reconnecting(dialer.Connect, options));
        var events = scheduler.Record(MuxSession.ReconnectEvents(dialer.Connect, options with { MaxAttempts = 2 }));
        scheduler.RunFor(TimeSpan.FromMinutes(5));

        Assert.That(sessions.Messages, Has.Count.EqualTo(1));
        Assert.That(sessions.Messages[0].Value.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnError));
        Assert.That(dialer.Attempts, Has.Count.EqualTo(5), "3 attempts for one subscription, 2 for the other: each runs its own loop");
        var failed = events.Messages.Where(m => m.Value.Kind == System.Reactive.NotificationKind.OnNext)
            .Select(m => (ReconnectEvent.ConnectFailed)m.Value.Value).ToList();
        Assert.That(failed.Select(f => (f.Attempt, f.NextDelay)), Is.EqualTo(new[] { (1, (TimeSpan?)(100 * Ms)), (2, (TimeSpan?)null) }));
        var terminal = events.Messages.Last().Value;
        Assert.That(terminal.Kind, Is.EqualTo(System.Reactive.NotificationKind.OnError));
        Assert.That(terminal.Exception, Is.SameAs(failed[1].Error));
        Assert.That(errors, Does.Contain(sessions.Messages[0].Value.Exception), "the sessions fail with a connect's own error");
        Assert.That(sessions.Messages[0].Value.Exception!.Message, Does.StartWith("refused"));
    }

    [Test]
    public async Task Disposing_the_subscription_closes_the_current_session_and_stops_connecting()
    {
        var scheduler = new BoundedTestScheduler();
        var dialer = new Dialer(scheduler);
        var sessions = new List<MuxSession>();
        using var subscription = MuxSession.Reconnecting(dialer.Connect, Options(scheduler)).Subscribe(sessions.Add);
        scheduler.RunUntilIdle();
        Assert.That(sessions, Has.Count.EqualTo(1));

        subscription.Dispose();
        scheduler.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(sessions[0].Completion.IsCompleted, Is.True, "the current session is closed");
        Assert.That((await sessions[0].Completion).Message, Is.EqualTo("closed locally"));
        Assert.That((await dialer.Servers[0].Completion).RemoteError, Is.EqualTo(ErrorCode.NoError), "the server got a clean GOAWAY");
        scheduler.RunFor(TimeSpan.FromMinutes(10));
        Assert.That(dialer.Attempts, Has.Count.EqualTo(1), "the session's end after disposal does not reconnect");
        Assert.That(sessions, Has.Count.EqualTo(1));
    }

    [Test]
    public void Disposing_during_the_backoff_cancels_the_next_attempt()
    {
        var scheduler = new BoundedTestScheduler();
        var dialer = new Dialer(scheduler) { FailAttempt = _ => new IOException("down") };
        var subscription = MuxSession.ReconnectEvents(dialer.Connect, Options(scheduler)).Subscribe(_ => { });
        scheduler.RunFor(150 * Ms);
        Assert.That(dialer.Attempts, Has.Count.EqualTo(2));
        Assert.That(scheduler.NextDueTime, Is.Not.Null, "the next attempt's timer");
        subscription.Dispose();
        Assert.That(scheduler.NextDueTime, Is.Null, "disposal cancels the timer");
        scheduler.RunFor(TimeSpan.FromMinutes(10));
        Assert.That(dialer.Attempts, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Disposing_during_a_connect_cancels_its_token_and_closes_the_transport_it_still_returns()
    {
        var scheduler = new BoundedTestScheduler();
        var connecting = new TaskCompletionSource<FrameTransport>();
        var token = CancellationToken.None;
        var calls = 0;
        var events = new List<ReconnectEvent>();
        var subscription = MuxSession.ReconnectEvents(ct => { calls++; token = ct; return connecting.Task; }, Options(scheduler)).Subscribe(events.Add);
        scheduler.RunUntilIdle();
        Assert.That((calls, token.IsCancellationRequested), Is.EqualTo((1, false)));

        subscription.Dispose();
        Assert.That(token.IsCancellationRequested, Is.True);
        var (client, server) = scheduler.CreateInMemoryPair();
        var serverSession = MuxSession.Server(server, scheduler.SessionOptions());
        connecting.SetResult(client);
        scheduler.RunFor(TimeSpan.FromSeconds(1));
        Assert.That(serverSession.Completion.IsCompleted, Is.True, "the late transport was closed");
        Assert.That((await serverSession.Completion).LocalError, Is.EqualTo(ErrorCode.PeerEOF));
        Assert.That(events, Is.Empty);
        Assert.That(calls, Is.EqualTo(1));
    }

    [Test]
    public void A_delegate_that_returns_a_null_task_or_a_cancelled_one_is_retried_like_any_failure()
    {
        var scheduler = new BoundedTestScheduler();
        var results = new Queue<Func<Task<FrameTransport>?>>([() => null, () => Task.FromCanceled<FrameTransport>(new CancellationToken(true)), () => Task.FromResult<FrameTransport>(null!)]);
        var dialer = new Dialer(scheduler);
        var events = scheduler.Record(MuxSession.ReconnectEvents(
            ct => results.TryDequeue(out var next) ? next()! : dialer.Connect(ct), Options(scheduler) with { Jitter = 0 }));
        scheduler.RunFor(TimeSpan.FromSeconds(2));

        var failures = Of<ReconnectEvent.ConnectFailed>(events).Select(f => f.Event.Error).ToList();
        Assert.That(failures, Has.Count.EqualTo(3));
        Assert.That(failures[0], Is.InstanceOf<InvalidOperationException>());
        Assert.That(failures[1], Is.InstanceOf<OperationCanceledException>());
        Assert.That(failures[2], Is.InstanceOf<InvalidOperationException>());
        Assert.That(Of<ReconnectEvent.Connected>(events).Single().Event.Attempt, Is.EqualTo(4));
    }

    [Test]
    public void Bad_options_are_refused_when_the_source_is_made()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MuxSession.Reconnecting(_ => Task.FromResult<FrameTransport>(null!), new ReconnectOptions { Multiplier = 0.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => MuxSession.Reconnecting(_ => Task.FromResult<FrameTransport>(null!), new ReconnectOptions { MaxDelay = Ms, InitialDelay = 2 * Ms }));
        Assert.Throws<ArgumentOutOfRangeException>(() => MuxSession.Reconnecting(_ => Task.FromResult<FrameTransport>(null!), new ReconnectOptions { MaxAttempts = 0 }));
        Assert.Throws<ArgumentNullException>(() => MuxSession.Reconnecting(null!));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Over_tcp_the_client_reconnects_after_the_server_drops_it_and_echoes_over_the_second_session()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var endpoint = listener.LocalEndPoint!;
        var serving = Task.Run(async () =>
        {
            // The first connection is dropped at once; the second gets a session that echoes one stream.
            using (var dropped = await listener.AcceptAsync())
            {
                dropped.Close();
            }
            var socket = await listener.AcceptAsync();
            await using var server = MuxSession.Create(socket, SessionRole.Server);
            await StreamIO.EchoAsync(await server.AcceptAsync());
            await server.Completion;
        });

        var options = new ReconnectOptions { InitialDelay = TimeSpan.FromMilliseconds(10) };
        var events = new List<ReconnectEvent>();
        var second = new TaskCompletionSource<MuxSession>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = MuxSession.ReconnectEvents(async ct =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint, ct);
            return FrameTransport.FromSocket(socket);
        }, options).Subscribe(e =>
        {
            lock (events)
            {
                events.Add(e);
                if (events.OfType<ReconnectEvent.Connected>().Count() == 2)
                {
                    second.TrySetResult(((ReconnectEvent.Connected)e).Session);
                }
            }
        });

        var session = await second.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stream = session.Open();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("over the second session"));
        await stream.CloseWriteAsync();
        var echoed = await StreamIO.ReadToEndAsync(stream).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(Encoding.ASCII.GetString(echoed), Is.EqualTo("over the second session"));

        ReconnectEvent[] seen;
        lock (events)
        {
            seen = [.. events];
        }
        Assert.That(seen[0], Is.InstanceOf<ReconnectEvent.Connected>());
        var firstEnd = seen.OfType<ReconnectEvent.SessionEnded>().First();
        Assert.That(firstEnd.Session, Is.SameAs(((ReconnectEvent.Connected)seen[0]).Session));
        Assert.That(firstEnd.End.LocalError, Is.EqualTo(ErrorCode.PeerEOF), "the dropped connection is the first session's end");

        subscription.Dispose();
        Assert.That((await session.Completion.WaitAsync(TimeSpan.FromSeconds(30))).Message, Is.EqualTo("closed locally"));
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
