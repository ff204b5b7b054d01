using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Interop;

/// <summary><c>serve --ws</c>: a Kestrel on the options' address accepting WebSockets on <c>/mux</c>, one session each.</summary>
internal static class WebSocketServe
{
    public static async Task<int> RunAsync(PeerOptions options, PeerOutput log, Action<IPEndPoint>? onListening,
        Func<FrameTransport, string, CancellationToken, Task> serve, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        IPAddress address;
        try
        {
            address = await PeerConnections.ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArgumentException or System.Net.Sockets.SocketException)
        {
            log.Line($"error: cannot listen on {options.Address}: {ex.Message}");
            return InteropPeer.ExitUsage;
        }
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(address, options.Port));
        var app = builder.Build();
        app.UseWebSockets();
        var limits = new FrameTransportOptions { ReaderLimits = options.SessionOptions.ReaderLimits };
        app.Map(PeerConnections.WebSocketPath, async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            string peer = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
            await serve(FrameTransport.FromWebSocket(socket, limits), peer, cancellationToken).ConfigureAwait(false);
        });
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            log.Line($"error: cannot listen on {options.Address}: {ex.Message}");
            await app.DisposeAsync().ConfigureAwait(false);
            return InteropPeer.ExitUsage;
        }
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var local = new IPEndPoint(IPAddress.Parse(bound.Host.Trim('[', ']')), bound.Port);
        log.Line($"listening {local}");
        log.Line($"websocket ws://{local}{PeerConnections.WebSocketPath}");
        onListening?.Invoke(local);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped: the sessions close on the same token (their handlers see it), then Kestrel stops.
        }
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(patience.Token).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        log.Line("stopped");
        return InteropPeer.ExitOk;
    }
}
