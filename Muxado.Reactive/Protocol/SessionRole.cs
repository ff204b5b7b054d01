namespace Muxado.Reactive;

/// <summary>Which side of the session this is; decides the parity of the stream ids it opens.</summary>
public enum SessionRole
{
    /// <summary>Opens odd ids (Go's first is 3).</summary>
    Client,
    /// <summary>Opens even ids (Go's first is 2).</summary>
    Server,
}
