using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Muxado.Reactive.AspNetCore;

/// <summary>Registers what <see cref="MuxadoEndpointRouteBuilderExtensions.MapMuxado"/> needs.</summary>
public static class MuxadoServiceCollectionExtensions
{
    /// <summary>
    /// Adds the muxado hosting services: the <see cref="MuxadoHostingOptions"/> (configured by <paramref name="configure"/>
    /// and any other <c>Configure</c> call) and <see cref="MuxadoSessions"/>, which drains the sessions when the host stops.
    /// </summary>
    public static IServiceCollection AddMuxado(this IServiceCollection services, Action<MuxadoHostingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MuxadoHostingOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<MuxadoSessions>();
        services.AddHostedService(provider => provider.GetRequiredService<MuxadoSessions>());
        return services;
    }
}
