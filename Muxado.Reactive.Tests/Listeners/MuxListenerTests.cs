using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Muxado.Reactive.Tests.Sessions;
using Muxado.Reactive.Tests.Support;
using Muxado.Reactive.Tests.Transports;

namespace Muxado.Reactive.Tests.Listeners;

/// <summary>The listener over real loopback TCP (and TLS): many clients, each session once, the limit, the graceful stop.</summary>
public class MuxListenerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    private static async Task<MuxSession> ConnectAsync(MuxListener listener)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint).WaitAsync(Generous);
        return MuxSession.Create(socket, SessionRole.Client);
    }


    /// <summary>Serves every session the listener hands out: echoes each of its streams.</summary>
    private static async Task ServeAsync(MuxListener listener)
    {
        var sessions = new List<Task>();
        await foreach (var session in listener.AcceptAllAsync())
        {
            sessions.Add(Task.Run(async () =>
            {
                var echoes = new List<Task>();
                try
                {
                    await foreach (var stream in session.AcceptAllAsync())
                    {
                        echoes.Add(StreamIO.EchoAsync(stream));
                    }
                }
                finally
                {
                    // The tests check what their clients get back; a stream the client reset fails its echo.
                    await Task.WhenAll(echoes.Select(e => e.ContinueWith(t => _ = t.Exception, TaskScheduler.Default)));
                }
            }));
        }
        // A session that ended with an error ends its serving task with it; that is the client's business here.
        await Task.WhenAll(sessions.Select(s => s.ContinueWith(t => _ = t.Exception, TaskScheduler.Default)));
    }

    [Test]
    public async Task Fifty_clients_each_get_a_session_of_their_own()
    {
        await using var listener = MuxListener.Start(AnyLoopbackPort);
        var serving = ServeAsync(listener);

        var clients = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ConnectAsync(listener)));
        var answers = await Task.WhenAll(clients.Select((c, i) => StreamIO.EchoThroughAsync(c, $"client {i}")));

        Assert.That(answers, Is.EqualTo(Enumerable.Range(0, 50).Select(i => $"client {i}")));
        Assert.That(listener.LiveSessions, Is.EqualTo(50));
        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        await listener.StopAsync(Generous).WaitAsync(Generous);
        await serving.WaitAsync(Generous);
        Assert.That(listener.LiveSessions, Is.Zero);
    }

    [Test]
    public async Task The_sessions_observable_hands_out_each_session_once_and_completes_when_the_listener_stops()
    {
        await using var listener = MuxListener.Start(AnyLoopbackPort);
        var taken = new List<MuxSession>();
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = listener.Sessions.Subscribe(s => { lock (taken) { taken.Add(s); } }, () => completed.TrySetResult());
        var second = new List<Exception>();
        using var secondSubscription = listener.Sessions.Subscribe(_ => { }, second.Add);

        var clients = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => ConnectAsync(listener)));
        await Eventually.TrueAsync(() => { lock (taken) { return taken.Count == 10; } });

        Assert.That(taken.Distinct().Count(), Is.EqualTo(10));
        Assert.That(second, Has.Count.EqualTo(1).And.All.TypeOf<InvalidOperationException>(), "a second subscriber is refused");
        Assert.That(() => listener.AcceptAsync(), Throws.InvalidOperationException, "and so is AcceptAsync");
        await listener.StopAsync(TimeSpan.Zero).WaitAsync(Generous);
        await completed.Task.WaitAsync(Generous);
        var ends = await Task.WhenAll(clients.Select(c => c.Completion)).WaitAsync(Generous);
        Assert.That(ends.Select(e => (e.LocalError, e.RemoteError)), Has.All.EqualTo((ErrorCode.PeerEOF, (ErrorCode?)ErrorCode.NoError)),
            "each client heard a GOAWAY before the close");
    }

    [Test]
    public async Task At_the_session_limit_the_next_connection_is_served_only_when_a_session_ends()
    {
        await using var listener = MuxListener.Start(AnyLoopbackPort, new MuxListenerOptions { MaxSessions = 2 });
        var first = await ConnectAsync(listener);
        var second = await ConnectAsync(listener);
        var firstThere = await listener.AcceptAsync().WaitAsync(Generous);
        var secondThere = await listener.AcceptAsync().WaitAsync(Generous);
        var third = await ConnectAsync(listener); // the kernel accepts it into the backlog
        var thirdThere = listener.AcceptAsync();

        // A round trip on a live session gives the listener every chance to take the third connection; it must not.
        var echo = StreamIO.EchoAsync(await AcceptStreamAfterOpenAsync(second, secondThere));
        Assert.That(thirdThere.IsCompleted, Is.False, "two sessions live: the third waits");
        Assert.That(listener.LiveSessions, Is.EqualTo(2));

        await first.DisposeAsync();
        var served = await thirdThere.WaitAsync(Generous);
        Assert.That(served, Is.Not.SameAs(firstThere).And.Not.SameAs(secondThere));
        Assert.That(firstThere.Completion.IsCompleted, Is.True, "the third came after the first ended");
        await echo.WaitAsync(Generous);
        await Task.WhenAll(second.DisposeAsync().AsTask(), third.DisposeAsync().AsTask());
    }

    [Test]
    public async Task A_graceful_stop_lets_a_stream_in_flight_finish_then_ends_when_the_client_closes()
    {
        var listener = MuxListener.Start(AnyLoopbackPort);
        var serving = ServeAsync(listener);
        var client = await ConnectAsync(listener);
        var stream = client.Open();
        var echoed = new StringBuilder();
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var reading = stream.Received.Subscribe(
            chunk => { lock (echoed) { echoed.Append(Encoding.ASCII.GetString(chunk.Span)); } },
            error => finished.TrySetException(error),
            () => finished.TrySetResult());
        string Echoed() { lock (echoed) { return echoed.ToString(); } }
        await stream.WriteAsync(Encoding.ASCII.GetBytes("before "));
        await Eventually.TrueAsync(() => Echoed() == "before "); // the server has the stream: the GOAWAY will not refuse it

        var stopping = listener.StopAsync(TimeSpan.FromMinutes(5));
        var end = client.Ended.FirstAsync().ToTask();
        await Eventually.GoneAwayAsync(client); // the GOAWAY arrived: no new streams
        await stream.WriteAsync(Encoding.ASCII.GetBytes("after"));
        await stream.CloseWriteAsync();
        await finished.Task.WaitAsync(Generous);
        Assert.That(Echoed(), Is.EqualTo("before after"), "the stream opened before the GOAWAY finished during the drain");
        Assert.That(stopping.IsCompleted, Is.False, "the listener waits for its session");

        await client.DisposeAsync();
        await stopping.WaitAsync(Generous); // long before the five minutes
        await serving.WaitAsync(Generous);
        Assert.That((await end).RemoteDebug, Is.EqualTo("listener stopping"), "the client had the listener's GOAWAY");
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.That(async () => await late.ConnectAsync(listener.LocalEndPoint), Throws.InstanceOf<SocketException>(), "no longer listening");
        Assert.That(() => listener.AcceptAsync(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public async Task A_TLS_listener_serves_pinned_clients_and_survives_a_failed_handshake()
    {
        using var certificate = TlsCertificates.MakeServerCertificate();
        await using var listener = MuxListener.Start(AnyLoopbackPort, new MuxListenerOptions
        {
            Tls = new SslServerAuthenticationOptions { ServerCertificate = certificate },
        });
        var serving = ServeAsync(listener);

        using (var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await plain.ConnectAsync(listener.LocalEndPoint);
            await plain.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"));
            await Eventually.TrueAsync(() => listener.HandshakeFailures == 1);
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        await tls.AuthenticateAsClientAsync(TlsCertificates.PinnedTo(certificate)).WaitAsync(Generous);
        await using var client = MuxSession.Create(tls, SessionRole.Client);
        Assert.That(await StreamIO.EchoThroughAsync(client, "over TLS"), Is.EqualTo("over TLS"));
        Assert.That(listener.HandshakeFailures, Is.EqualTo(1));
        await client.DisposeAsync();
        await listener.StopAsync(Generous).WaitAsync(Generous);
        await serving.WaitAsync(Generous);
    }

    [Test]
    public async Task A_drain_time_out_of_range_is_refused_before_the_listener_stops()
    {
        await using var listener = MuxListener.Start(AnyLoopbackPort);
        Assert.That(() => listener.StopAsync(TimeSpan.FromDays(30)), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => listener.StopAsync(TimeSpan.FromSeconds(-1)), Throws.TypeOf<ArgumentOutOfRangeException>());
        var client = await ConnectAsync(listener);
        Assert.That(await listener.AcceptAsync().WaitAsync(Generous), Is.Not.Null, "still accepting");
        await client.DisposeAsync();
    }

    private static async Task<MuxStream> AcceptStreamAfterOpenAsync(MuxSession client, MuxSession server)
    {
        var stream = client.Open();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("ping"));
        await stream.CloseWriteAsync();
        var there = await server.AcceptAsync().WaitAsync(Generous);
        Assert.That(Encoding.ASCII.GetString(await StreamIO.ReadToEndAsync(there)), Is.EqualTo("ping"));
        return there;
    }
}
