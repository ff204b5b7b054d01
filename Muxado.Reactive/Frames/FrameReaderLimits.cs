namespace Muxado.Reactive.Frames;

/// <summary>
/// How many body bytes <see cref="FrameReader"/> keeps per frame; bytes beyond are reported for
/// discarding, never buffered, so a hostile 16 MiB length header cannot make the reader hold 16 MiB.
/// </summary>
/// <param name="MaxDataLength">Largest DATA body kept (default 256 KiB, the default window).
/// A longer DATA frame is returned truncated (no payload) so that the session can reset the stream.</param>
/// <param name="MaxDebugLength">GOAWAY debug bytes kept (default 1 KiB); the rest is discarded.</param>
/// <param name="MaxUnknownLength">Body bytes kept of a frame of unknown type (default 1 KiB).</param>
public readonly record struct FrameReaderLimits(int MaxDataLength, int MaxDebugLength, int MaxUnknownLength)
{
    /// <summary>256 KiB of DATA, 1 KiB of GOAWAY debug text, 1 KiB of unknown body.</summary>
    public static FrameReaderLimits Default { get; } = new(256 * 1024, 1024, 1024);
}
