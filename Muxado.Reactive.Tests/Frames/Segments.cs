using System.Buffers;

namespace Muxado.Reactive.Tests.Frames;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a pipe hands them out.</summary>
public static class Segments
{
    /// <summary>Splits <paramref name="bytes"/> into segments of at most <paramref name="segmentSize"/> bytes.</summary>
    public static ReadOnlySequence<byte> Chunked(ReadOnlySpan<byte> bytes, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        var cuts = new List<int>();
        for (int at = segmentSize; at < bytes.Length; at += segmentSize)
        {
            cuts.Add(at);
        }
        return Cut(bytes, [.. cuts]);
    }

    /// <summary>
    /// Cuts <paramref name="bytes"/> into segments at the given increasing offsets; each segment gets its own
    /// array (so no segment can be read through another's memory).
    /// </summary>
    public static ReadOnlySequence<byte> Cut(ReadOnlySpan<byte> bytes, params int[] cuts)
    {
        ArgumentNullException.ThrowIfNull(cuts);
        Segment? first = null, last = null;
        int start = 0;
        foreach (int end in cuts.Append(bytes.Length))
        {
            if (end < start || end > bytes.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(cuts), end, "Cuts must increase and stay inside the bytes.");
            }
            var segment = new Segment(bytes[start..end].ToArray());
            if (last is null)
            {
                first = last = segment;
            }
            else
            {
                last = last.Append(segment);
            }
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}

/// <summary>Hex helpers for hand-written byte vectors ("00 00 02 12 ..."; spaces are ignored).</summary>
public static class Hex
{
    /// <summary>The bytes of <paramref name="hex"/>, ignoring spaces.</summary>
    public static byte[] Bytes(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        return Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
    }

    /// <summary>Lower-case hex without separators.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Canonical form of a hand-written vector (lower case, no spaces).</summary>
    public static string Normalize(string hex) => Of(Bytes(hex));
}
