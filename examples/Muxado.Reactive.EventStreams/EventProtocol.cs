using System.Buffers.Binary;

namespace Muxado.Reactive.EventStreams;

/// <summary>
/// The wire format: one typed stream per partition, its type the partition number; on it, 64-byte events (big-endian:
/// the partition, the event's sequence number in its partition from 0, the Unix time in microseconds it was made, and a
/// payload derived from the sequence number so that the consumer can check it).
/// </summary>
internal static class EventProtocol
{
    public const int EventSize = 64;
    private const int PayloadOffset = 24;

    public static void Encode(Span<byte> record, int partition, long sequence, DateTimeOffset at)
    {
        BinaryPrimitives.WriteInt32BigEndian(record, partition);
        BinaryPrimitives.WriteInt32BigEndian(record[4..], 0);
        BinaryPrimitives.WriteInt64BigEndian(record[8..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(record[16..], (at - DateTimeOffset.UnixEpoch).Ticks / 10);
        record[PayloadOffset..EventSize].Fill((byte)sequence);
    }

    /// <summary>Checks one event: its partition, that it follows <paramref name="expected"/>, and its payload.</summary>
    /// <exception cref="InvalidDataException">The event is not the one expected.</exception>
    public static void Check(ReadOnlySpan<byte> record, int partition, long expected)
    {
        int from = BinaryPrimitives.ReadInt32BigEndian(record);
        long sequence = BinaryPrimitives.ReadInt64BigEndian(record[8..]);
        if (from != partition || sequence != expected)
        {
            throw new InvalidDataException($"partition {partition}: expected event {expected}, got event {sequence} of partition {from}");
        }
        if (record[PayloadOffset..EventSize].IndexOfAnyExcept((byte)sequence) >= 0)
        {
            throw new InvalidDataException($"partition {partition}: event {sequence} has a damaged payload");
        }
    }
}

/// <summary>
/// Checks a partition's events chunk by chunk: a chunk is whatever one DATA frame carried, so an event may be split
/// across chunks; the tail of one chunk waits here for the next.
/// </summary>
internal sealed class PartitionChecker(int partition)
{
    private readonly byte[] _partial = new byte[EventProtocol.EventSize];
    private int _partialLength;

    /// <summary>Events checked so far; also the sequence number the next must have.</summary>
    public long Checked { get; private set; }

    /// <summary>Checks the events that <paramref name="chunk"/> completes; returns how many.</summary>
    /// <exception cref="InvalidDataException">An event is missing, repeated, out of order or damaged.</exception>
    public int Check(ReadOnlySpan<byte> chunk)
    {
        long before = Checked;
        if (_partialLength > 0)
        {
            int take = Math.Min(EventProtocol.EventSize - _partialLength, chunk.Length);
            chunk[..take].CopyTo(_partial.AsSpan(_partialLength));
            _partialLength += take;
            chunk = chunk[take..];
            if (_partialLength < EventProtocol.EventSize)
            {
                return 0;
            }
            EventProtocol.Check(_partial, partition, Checked++);
            _partialLength = 0;
        }
        for (; chunk.Length >= EventProtocol.EventSize; chunk = chunk[EventProtocol.EventSize..])
        {
            EventProtocol.Check(chunk[..EventProtocol.EventSize], partition, Checked++);
        }
        chunk.CopyTo(_partial);
        _partialLength = chunk.Length;
        return (int)(Checked - before);
    }
}
