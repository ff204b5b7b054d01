using System.Security.Cryptography;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Deterministic payloads for a stream's two directions, so that each side can compute what the other must have sent
/// from the test's seed and the stream id alone, and check what it received by SHA-256.
/// </summary>
internal static class StreamPayloads
{
    /// <summary>A seed for one direction of one stream (stable across runs and processes, unlike <see cref="HashCode"/>).</summary>
    public static int SeedOf(int testSeed, uint streamId, bool fromOpener)
    {
        unchecked
        {
            uint h = (uint)testSeed * 0x9E3779B1u;
            h ^= streamId * 0x85EBCA77u;
            h ^= fromOpener ? 0xC2B2AE3Du : 0x27D4EB2Fu;
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 13;
            return (int)(h & 0x7FFFFFFF);
        }
    }

    /// <summary>The bytes of a payload of <paramref name="length"/> from <paramref name="seed"/>.</summary>
    public static byte[] Create(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] Sha256(ReadOnlySpan<byte> bytes) => SHA256.HashData(bytes);

    public static string Hex(byte[] hash) => Convert.ToHexStringLower(hash)[..16];
}
