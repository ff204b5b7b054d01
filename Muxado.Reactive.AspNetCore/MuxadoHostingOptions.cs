namespace Muxado.Reactive.AspNetCore;

/// <summary>
/// How the endpoints of <see cref="MuxadoEndpointRouteBuilderExtensions.MapMuxado"/> run their sessions; configured with
/// the options pattern (<see cref="MuxadoServiceCollectionExtensions.AddMuxado"/>, or <c>services.Configure&lt;MuxadoHostingOptions&gt;</c>).
/// </summary>
public sealed class MuxadoHostingOptions
{
    /// <summary>The options of every session (default <see cref="MuxSessionOptions.Default"/>).</summary>
    public MuxSessionOptions Session { get; set; } = MuxSessionOptions.Default;

    /// <summary>
    /// When the host stops: how long sessions may go on after their GOAWAY before they are closed. Default 10 s; keep it
    /// below the host's <c>HostOptions.ShutdownTimeout</c> (30 s by default). <see cref="Timeout.InfiniteTimeSpan"/> waits
    /// until the host gives up; other negative values count as zero.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The GOAWAY debug text sent to every session when the host stops.</summary>
    public string ShutdownMessage { get; set; } = "server shutting down";
}
