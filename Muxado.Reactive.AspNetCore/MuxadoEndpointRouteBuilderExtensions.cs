using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Muxado.Reactive.AspNetCore;

/// <summary>Maps endpoints that run a muxado session over each WebSocket they accept.</summary>
public static class MuxadoEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <paramref name="pattern"/> to an endpoint that accepts a WebSocket, runs a session in <paramref name="role"/>
    /// over it, and hands the session to <paramref name="handler"/>. The session is closed when the handler returns (or
    /// throws); the request lasts as long as the handler runs. A request that is not a WebSocket request gets 400.
    /// </summary>
    /// <remarks>
    /// <para>Needs <c>app.UseWebSockets()</c> and <see cref="MuxadoServiceCollectionExtensions.AddMuxado"/>. The session's
    /// options come from <see cref="MuxadoHostingOptions.Session"/> (read when the endpoint is mapped), with the host's
    /// <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/> where they name none. <see cref="HttpContext.RequestAborted"/> fires when
    /// the connection goes; pass it to what the handler awaits.</para>
    /// <para>When the host stops, every session gets a GOAWAY and has up to <see cref="MuxadoHostingOptions.DrainTimeout"/>
    /// to end (see <see cref="MuxadoSessions"/>). Handlers that return when their session ends (for example after
    /// <c>await foreach</c> over <see cref="MuxSession.AcceptAllAsync"/>) let the host stop cleanly.</para>
    /// </remarks>
    public static IEndpointConventionBuilder MapMuxado(
        this IEndpointRouteBuilder endpoints, string pattern, SessionRole role, Func<MuxSession, HttpContext, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(handler);
        var sessions = endpoints.ServiceProvider.GetService<MuxadoSessions>()
            ?? throw new InvalidOperationException("MapMuxado needs services.AddMuxado().");
        var hosting = endpoints.ServiceProvider.GetRequiredService<IOptions<MuxadoHostingOptions>>().Value;
        var session = WithHostTelemetry(hosting.Session, endpoints.ServiceProvider);
        return endpoints.Map(pattern, context => RunAsync(context, role, handler, sessions, session));
    }

    /// <summary>The session options with the host's logger and meter factories where the options name none.</summary>
    private static MuxSessionOptions WithHostTelemetry(MuxSessionOptions options, IServiceProvider services) => options with
    {
        LoggerFactory = options.LoggerFactory ?? services.GetService<ILoggerFactory>(),
        MeterFactory = options.MeterFactory ?? services.GetService<IMeterFactory>(),
    };

    private static async Task RunAsync(HttpContext context, SessionRole role, Func<MuxSession, HttpContext, Task> handler,
        MuxadoSessions sessions, MuxSessionOptions options)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var session = MuxSession.Create(socket, role, options);
        await using (session.ConfigureAwait(false))
        {
            if (!sessions.TryAdd(session))
            {
                return; // the host is stopping: closed at once
            }
            try
            {
                await handler(session, context).ConfigureAwait(false);
            }
            finally
            {
                sessions.Remove(session);
            }
        }
    }
}
