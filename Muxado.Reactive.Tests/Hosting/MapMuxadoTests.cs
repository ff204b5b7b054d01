using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Muxado.Reactive.AspNetCore;
using Muxado.Reactive.Tests.Sessions;
using Muxado.Reactive.Tests.Support;

namespace Muxado.Reactive.Tests.Hosting;

/// <summary><c>MapMuxado</c> on a real Kestrel (127.0.0.1, a free port): sessions over WebSockets, and the host's graceful stop.</summary>
public class MapMuxadoTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    /// <summary>A host that echoes every stream of every session on /mux.</summary>
    private static async Task<(WebApplication App, Uri Address)> StartEchoHostAsync(
        Action<MuxadoHostingOptions> configure, Action<ILoggingBuilder>? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddMuxado(configure);
        var app = builder.Build();
        app.UseWebSockets();
        app.MapMuxado("/mux", SessionRole.Server, async (session, context) =>
        {
            var echoes = new List<Task>();
            try
            {
                await foreach (var stream in session.AcceptAllAsync(context.RequestAborted))
                {
                    echoes.Add(StreamIO.EchoAsync(stream));
                }
            }
            finally
            {
                await Task.WhenAll(echoes.Select(e => e.ContinueWith(t => _ = t.Exception, TaskScheduler.Default)));
            }
        });
        await app.StartAsync();
        var http = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new Uri(http.Replace("http://", "ws://", StringComparison.Ordinal) + "/mux"));
    }

    private static async Task<MuxSession> ConnectAsync(Uri address)
    {
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Generous);
        await socket.ConnectAsync(address, timeout.Token);
        return MuxSession.Create(socket, SessionRole.Client);
    }


    [Test]
    public async Task Each_websocket_gets_a_session_that_the_handler_serves()
    {
        var (app, address) = await StartEchoHostAsync(_ => { });
        await using (app)
        {
            var clients = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => ConnectAsync(address)));
            var answers = await Task.WhenAll(clients.Select((c, i) => StreamIO.EchoThroughAsync(c, $"client {i}")));

            Assert.That(answers, Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"client {i}")));
            Assert.That(app.Services.GetRequiredService<MuxadoSessions>().Count, Is.EqualTo(5));
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            await app.StopAsync().WaitAsync(Generous);
        }
    }

    [Test]
    public async Task A_plain_http_request_gets_400()
    {
        var (app, address) = await StartEchoHostAsync(_ => { });
        await using (app)
        {
            using var http = new HttpClient();
            var response = await http.GetAsync(new Uri(address.ToString().Replace("ws://", "http://", StringComparison.Ordinal)));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            await app.StopAsync().WaitAsync(Generous);
        }
    }

    [Test]
    public async Task Stopping_the_host_closes_a_session_that_stays_at_the_drain_deadline()
    {
        var (app, address) = await StartEchoHostAsync(o =>
        {
            o.DrainTimeout = TimeSpan.FromMilliseconds(500);
            o.ShutdownMessage = "host stopping";
        });
        await using (app)
        {
            var client = await ConnectAsync(address);
            Assert.That(await StreamIO.EchoThroughAsync(client, "before the stop"), Is.EqualTo("before the stop"));

            // The client never closes: the host gives it the drain time, then closes it.
            await app.StopAsync().WaitAsync(Generous);

            var end = await client.Completion.WaitAsync(Generous);
            Assert.That((end.RemoteError, end.RemoteDebug), Is.EqualTo(((ErrorCode?)ErrorCode.NoError, "no error")),
                "the drain's GOAWAY came first, then the session's own close");
            Assert.That(end.LocalError, Is.EqualTo(ErrorCode.PeerEOF));
            Assert.That(app.Services.GetRequiredService<MuxadoSessions>().Count, Is.Zero);
        }
    }

    [Test]
    public async Task Stopping_the_host_sends_goaway_and_ends_as_soon_as_the_clients_close()
    {
        var (app, address) = await StartEchoHostAsync(o =>
        {
            o.DrainTimeout = TimeSpan.FromMinutes(5);
            o.ShutdownMessage = "host stopping";
        });
        await using (app)
        {
            var client = await ConnectAsync(address);
            Assert.That(await StreamIO.EchoThroughAsync(client, "before the stop"), Is.EqualTo("before the stop"));
            var open = client.Open(); // a stream still open when the host stops
            var echoed = new StringBuilder();
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var reading = open.Received.Subscribe(
                chunk => { lock (echoed) { echoed.Append(Encoding.ASCII.GetString(chunk.Span)); } },
                error => finished.TrySetException(error),
                () => finished.TrySetResult());
            string Echoed() { lock (echoed) { return echoed.ToString(); } }
            await open.WriteAsync(Encoding.ASCII.GetBytes("open "));
            await Eventually.TrueAsync(() => Echoed() == "open "); // the server has the stream: the GOAWAY will not refuse it

            var stopping = app.StopAsync();
            await Eventually.GoneAwayAsync(client); // the GOAWAY arrived
            await open.WriteAsync(Encoding.ASCII.GetBytes("across the stop"));
            await open.CloseWriteAsync();
            await finished.Task.WaitAsync(Generous);
            Assert.That(Echoed(), Is.EqualTo("open across the stop"), "a stream open before the stop finishes during the drain");
            Assert.That(stopping.IsCompleted, Is.False, "the host waits for its session");
            await client.DisposeAsync();
            await stopping.WaitAsync(Generous); // long before the five minutes

            Assert.That(client.Completion.Result.RemoteDebug, Is.EqualTo("host stopping"));
        }
    }

    [Test]
    public async Task Sessions_log_through_the_hosts_logger_factory()
    {
        var (app, address) = await StartEchoHostAsync(_ => { }, logging => logging.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        await using (app)
        {
            var client = await ConnectAsync(address);
            Assert.That(await StreamIO.EchoThroughAsync(client, "logged"), Is.EqualTo("logged"));
            await client.DisposeAsync();
            await app.StopAsync().WaitAsync(Generous);

            var records = app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Category == "Muxado.Reactive.MuxSession").ToList();
            Assert.That(records.Select(r => r.Id.Name), Does.Contain("SessionStarted").And.Contain("SessionEnded"),
                string.Join("\n", records.Select(r => r.Message)));
        }
    }

    [Test]
    public void MapMuxado_without_AddMuxado_says_what_is_missing()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        Assert.That(() => app.MapMuxado("/mux", SessionRole.Server, (_, _) => Task.CompletedTask),
            Throws.InvalidOperationException.With.Message.Contains("AddMuxado"));
    }
}
