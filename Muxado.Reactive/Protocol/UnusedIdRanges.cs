namespace Muxado.Reactive.Protocol;

/// <summary>
/// The stream ids of the peer's parity that lie below the highest id it has opened and that it has never used,
/// as a sorted set of ranges (PROTOCOL.md, "Stream ids": new ids do not arrive in increasing order).
/// </summary>
/// <remarks>
/// <para>Owned by <see cref="ProtocolCore"/>; not thread-safe. Only ids of one parity are ever asked about, so a
/// range <c>[First, Last]</c> stands for <c>First, First + 2, ..., Last</c>.</para>
/// <para>Memory is bounded whatever the peer does: beyond <see cref="MaxRanges"/> the lowest ranges are dropped
/// and their ids count as used. Honest reordering is recent (concurrent first writes racing onto the wire), so
/// the ids it needs are the ones just below the highest. A session whose peer opens in order holds nothing.</para>
/// </remarks>
internal sealed class UnusedIdRanges
{
    /// <summary>
    /// Ranges kept at most. An honest peer has one gap per stream it opened and has not written to yet, which its
    /// concurrency bounds (a peer beyond <see cref="MuxSessionOptions.MaxIncomingStreams"/> is refused anyway);
    /// 1024 covers the default stream limit, and costs 8 KiB at most.
    /// </summary>
    public const int MaxRanges = 1024;

    // Sorted by First; ranges never touch or overlap. Null until the first gap.
    private List<IdRange>? _ranges;

    /// <summary>The number of ranges held (for tests and statistics).</summary>
    public int Count => _ranges?.Count ?? 0;

    /// <summary>The highest id seen so far; 0 before the first.</summary>
    public uint Highest { get; private set; }

    /// <summary>
    /// Marks <paramref name="id"/> used. Returns false when it was used already (open, finished, refused, or
    /// dropped from the bound); true when it was new.
    /// </summary>
    /// <param name="id">An id of the peer's parity.</param>
    /// <param name="lowestOfParity">The lowest id of that parity (1 or 2): the gap below the first id starts there.</param>
    public bool TryUse(uint id, uint lowestOfParity)
    {
        if (id > Highest)
        {
            uint gapFirst = Highest == 0 ? lowestOfParity : Highest + 2;
            if (gapFirst < id)
            {
                Add(new IdRange(gapFirst, id - 2));
            }
            Highest = id;
            return true;
        }
        return _ranges is not null && Remove(id);
    }

    /// <summary>True when <paramref name="id"/> (below the highest) is still unused; for tests.</summary>
    public bool IsUnused(uint id) => id > Highest || (_ranges is not null && IndexOf(id) >= 0);

    private void Add(IdRange range)
    {
        _ranges ??= [];
        _ranges.Add(range); // above every range held: the gap just below the new highest id
        if (_ranges.Count > MaxRanges)
        {
            _ranges.RemoveRange(0, _ranges.Count - MaxRanges);
        }
    }

    private bool Remove(uint id)
    {
        var ranges = _ranges!;
        int index = IndexOf(id);
        if (index < 0)
        {
            return false;
        }
        var range = ranges[index];
        if (range.First == range.Last)
        {
            ranges.RemoveAt(index);
        }
        else if (id == range.First)
        {
            ranges[index] = range with { First = id + 2 };
        }
        else if (id == range.Last)
        {
            ranges[index] = range with { Last = id - 2 };
        }
        else
        {
            ranges[index] = range with { Last = id - 2 };
            ranges.Insert(index + 1, new IdRange(id + 2, range.Last));
            if (ranges.Count > MaxRanges)
            {
                ranges.RemoveAt(0);
            }
        }
        return true;
    }

    /// <summary>The index of the range holding <paramref name="id"/>, or -1.</summary>
    private int IndexOf(uint id)
    {
        var ranges = _ranges!;
        int lo = 0;
        int hi = ranges.Count - 1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) / 2);
            var range = ranges[mid];
            if (id < range.First)
            {
                hi = mid - 1;
            }
            else if (id > range.Last)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }

    private readonly record struct IdRange(uint First, uint Last);
}
