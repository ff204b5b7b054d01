using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Muxado.Reactive.Interop;

/// <summary>A behaviour or check found the other side's bytes wrong; the message says how.</summary>
public sealed class PeerCheckException(string message) : Exception(message);

/// <summary>Reading and writing helpers shared by the behaviours and the checks.</summary>
internal static class StreamIO
{
    /// <summary>Reads exactly <paramref name="count"/> bytes; a FIN before them is an error.</summary>
    public static async Task<byte[]> ReadExactlyAsync(MuxStream stream, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        int read = 0;
        var reader = stream.AsStream();
        while (read < count)
        {
            int n = await reader.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new PeerCheckException($"stream ended after {read} of {count} bytes");
            }
            read += n;
        }
        return buffer;
    }

    /// <summary>Reads a big-endian 64-bit length (the source and callback requests).</summary>
    public static async Task<long> ReadLengthAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        var bytes = await ReadExactlyAsync(stream, 8, cancellationToken).ConfigureAwait(false);
        ulong n = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        return n <= long.MaxValue ? (long)n : throw new PeerCheckException($"length {n} is too large");
    }

    /// <summary>Writes a big-endian 64-bit length.</summary>
    public static ValueTask WriteLengthAsync(MuxStream stream, long n, CancellationToken cancellationToken)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, (ulong)n);
        return stream.WriteAsync(bytes, cancellationToken);
    }

    /// <summary>Reads to FIN and returns the bytes; more than <paramref name="limit"/> is an error.</summary>
    public static async Task<byte[]> ReadToEndAsync(MuxStream stream, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (buffer.Length + chunk.Length > limit)
            {
                throw new PeerCheckException($"more than {limit} bytes arrived where at most {limit} were expected");
            }
            buffer.Write(chunk.Span);
        }
        return buffer.ToArray();
    }

    /// <summary>Writes <paramref name="count"/> pattern bytes, adding them to <paramref name="hash"/> if given.</summary>
    public static async Task WritePatternAsync(MuxStream stream, long count, IncrementalHash? hash, CancellationToken cancellationToken)
    {
        long offset = 0;
        while (offset < count)
        {
            int n = (int)Math.Min(Pattern.MaxSlice, count - offset);
            var slice = Pattern.Slice(offset, n);
            hash?.AppendData(slice.Span);
            await stream.WriteAsync(slice, cancellationToken).ConfigureAwait(false);
            offset += n;
        }
    }

    /// <summary>
    /// Reads to FIN and checks that exactly <paramref name="expected"/> pattern bytes arrived; throws
    /// <see cref="PeerCheckException"/> at the first wrong byte or a wrong count.
    /// </summary>
    public static async Task VerifyPatternToEndAsync(MuxStream stream, long expected, CancellationToken cancellationToken)
    {
        long offset = 0;
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (offset + chunk.Length > expected)
            {
                throw new PeerCheckException($"more than the {expected} bytes expected arrived");
            }
            int bad = Pattern.FirstMismatch(chunk.Span, offset);
            if (bad >= 0)
            {
                long at = offset + bad;
                throw new PeerCheckException($"byte {at} is 0x{chunk.Span[bad]:x2}, expected 0x{Pattern.At(at):x2}");
            }
            offset += chunk.Length;
        }
        if (offset != expected)
        {
            throw new PeerCheckException($"got {offset} bytes, expected {expected}");
        }
    }

    /// <summary>Reads to FIN and discards the bytes; returns how many there were.</summary>
    public static async Task<long> DiscardToEndAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        long count = 0;
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            count += chunk.Length;
        }
        return count;
    }
}
