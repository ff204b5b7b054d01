namespace Muxado.Reactive.Interop;

/// <summary>
/// The bytes the checks send and expect: byte i of a stream's data is (i*7+3) &amp; 0xff. It repeats every
/// 256 bytes, so one precomputed block serves any offset.
/// </summary>
public static class Pattern
{
    /// <summary>The most bytes <see cref="Slice"/> hands out at once.</summary>
    public const int MaxSlice = 32 * 1024;

    private static readonly byte[] Block = Create(MaxSlice + 256);

    /// <summary>Byte <paramref name="index"/> of the pattern.</summary>
    public static byte At(long index) => (byte)((index * 7 + 3) & 0xff);

    /// <summary>The first <paramref name="length"/> bytes of the pattern.</summary>
    public static byte[] Create(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = At(i);
        }
        return bytes;
    }

    /// <summary>The pattern bytes from <paramref name="offset"/> on, at most <see cref="MaxSlice"/> of them.</summary>
    public static ReadOnlyMemory<byte> Slice(long offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxSlice);
        return Block.AsMemory((int)(offset & 0xff), count);
    }

    /// <summary>
    /// Where <paramref name="data"/>, found at stream offset <paramref name="offset"/>, first differs from the
    /// pattern: an index into <paramref name="data"/>, or -1 when it all matches.
    /// </summary>
    public static int FirstMismatch(ReadOnlySpan<byte> data, long offset)
    {
        int checkedSoFar = 0;
        while (checkedSoFar < data.Length)
        {
            int n = Math.Min(MaxSlice, data.Length - checkedSoFar);
            var actual = data.Slice(checkedSoFar, n);
            var expected = Slice(offset + checkedSoFar, n).Span;
            int diff = actual.CommonPrefixLength(expected);
            if (diff < n)
            {
                return checkedSoFar + diff;
            }
            checkedSoFar += n;
        }
        return -1;
    }
}
