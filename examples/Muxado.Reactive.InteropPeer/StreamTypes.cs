namespace Muxado.Reactive.Interop;

/// <summary>The typed-stream types of PEER.md's behaviours.</summary>
public static class StreamTypes
{
    /// <summary>Writes back every byte; on the opener's FIN, half-closes.</summary>
    public const uint Echo = 1;

    /// <summary>Reads to FIN; replies with the 8-byte big-endian count and the SHA-256 of the bytes.</summary>
    public const uint Sink = 2;

    /// <summary>Reads an 8-byte big-endian N; writes N pattern bytes.</summary>
    public const uint Source = 3;

    /// <summary>Reads N; echoes N pattern bytes through a new echo stream opened back to the opener; answers <c>ok\n</c> or <c>bad ...\n</c>.</summary>
    public const uint Callback = 4;

    /// <summary>A short name for a type, for log lines.</summary>
    public static string NameOf(uint type) => type switch
    {
        Echo => "echo",
        Sink => "sink",
        Source => "source",
        Callback => "callback",
        _ => $"discard(type 0x{type:x})",
    };
}
