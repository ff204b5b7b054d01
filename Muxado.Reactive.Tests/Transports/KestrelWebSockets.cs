using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// A real Kestrel on 127.0.0.1 (a free port) that accepts WebSockets on <c>/mux</c> and hands each to a handler; the
/// request lasts as long as the handler runs. <see cref="ConnectAsync"/> opens a <see cref="ClientWebSocket"/> to it.
/// </summary>
internal sealed class KestrelWebSockets : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelWebSockets(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The ws:// address of the endpoint.</summary>
    public Uri Address { get; }

    public static async Task<KestrelWebSockets> StartAsync(Func<WebSocket, Task> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/mux", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await handler(socket);
        });
        await app.StartAsync();
        var http = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new KestrelWebSockets(app, new Uri(http.Replace("http://", "ws://", StringComparison.Ordinal) + "/mux"));
    }

    public async Task<ClientWebSocket> ConnectAsync()
    {
        var client = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.ConnectAsync(Address, timeout.Token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
