namespace Muxado.Reactive.UiClient;

/// <summary>
/// The bytes the server sends: byte n of the download is n mod 251. A prime period never lines up with chunk or frame
/// sizes, so a chunk lost, repeated or delivered out of order shows at the first byte that moved.
/// </summary>
public static class Pattern
{
    private const int Period = 251;

    /// <summary>The longest piece <see cref="Slice"/> hands out.</summary>
    public const int MaxSlice = 64 * 1024;

    private static readonly byte[] Bytes = Enumerable.Range(0, MaxSlice + Period).Select(i => (byte)(i % Period)).ToArray();

    /// <summary>The <paramref name="length"/> (at most <see cref="MaxSlice"/>) bytes of the download from <paramref name="offset"/> on.</summary>
    public static ReadOnlyMemory<byte> Slice(long offset, int length) => Bytes.AsMemory((int)(offset % Period), length);

    /// <summary>Checks the bytes of the download from <paramref name="offset"/> on; the offset of the first wrong byte, or -1.</summary>
    public static long FirstMismatch(long offset, ReadOnlySpan<byte> received)
    {
        for (int done = 0; done < received.Length; done += MaxSlice)
        {
            var piece = received.Slice(done, Math.Min(MaxSlice, received.Length - done));
            var expected = Slice(offset + done, piece.Length).Span;
            if (!piece.SequenceEqual(expected))
            {
                return offset + done + piece.CommonPrefixLength(expected);
            }
        }
        return -1;
    }
}
