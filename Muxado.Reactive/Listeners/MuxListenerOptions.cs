using System.Net;
using System.Net.Security;

namespace Muxado.Reactive;

/// <summary>How a <see cref="MuxListener"/> accepts connections and the sessions it runs on them.</summary>
public sealed record MuxListenerOptions
{
    /// <summary>The options of every session (default <see cref="MuxSessionOptions.Default"/>).</summary>
    public MuxSessionOptions SessionOptions { get; init; } = MuxSessionOptions.Default;

    /// <summary>
    /// Options per connection, chosen from the peer's address; when set, it is used instead of <see cref="SessionOptions"/>.
    /// Called on the accepting task; an exception from it closes that connection only.
    /// </summary>
    public Func<EndPoint, MuxSessionOptions>? SessionOptionsFor { get; init; }

    /// <summary>The role the listener's sessions take. Default <see cref="SessionRole.Server"/> (even stream ids), as in Go.</summary>
    public SessionRole Role { get; init; } = SessionRole.Server;

    /// <summary>
    /// Live sessions at most (handshaking, waiting to be taken, or running). At the limit the listener stops accepting
    /// until a session ends, so further connections wait in the kernel's backlog (Go's <c>netutil.LimitListener</c>).
    /// Default 10,000.
    /// </summary>
    public int MaxSessions { get; init; } = 10_000;

    /// <summary>The length of the kernel's queue of connections not yet accepted. Default 512.</summary>
    public int Backlog { get; init; } = 512;

    /// <summary>When set, every connection is TLS: the listener authenticates as a server with these options first.</summary>
    public SslServerAuthenticationOptions? Tls { get; init; }

    /// <summary>How long a connection may take for its TLS handshake before it is closed. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    internal MuxListenerOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(SessionOptions);
        SessionOptions.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSessions, 1, nameof(MaxSessions));
        ArgumentOutOfRangeException.ThrowIfLessThan(Backlog, 1, nameof(Backlog));
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "must be more than zero");
        }
        return this;
    }
}
