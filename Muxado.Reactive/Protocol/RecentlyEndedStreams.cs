namespace Muxado.Reactive.Protocol;

/// <summary>How a stream that left the table may still be answered when the peer's DATA for it arrives late.</summary>
internal enum EndedStream : byte
{
    /// <summary>We sent RST (a reset, a refusal, or a close that dropped unread data): the peer has our answer, drop its DATA silently.</summary>
    ResetByUs,

    /// <summary>We closed without RST while the peer could still send: its first DATA gets RST StreamClosed, later DATA is dropped.</summary>
    ClosedByUs,

    /// <summary>
    /// Nothing more was to come from the peer (it sent FIN or RST, or never heard of the stream): its DATA breaks
    /// the rules and is answered like DATA on an unknown stream. Remembered so that its RST answering our last
    /// DATA is free.
    /// </summary>
    Finished,
}

/// <summary>
/// The last streams that left the stream table, with how they ended, so that the peer's frames racing our RST, our
/// close or our last DATA are answered as the peer expects and cost no reply budget (PROTOCOL.md, "Stream
/// lifecycle", Close).
/// </summary>
/// <remarks>
/// Owned by <see cref="ProtocolCore"/>; not thread-safe. A FIFO of the last <see cref="Capacity"/> ids, allocated on
/// the first one; an id pushed out is treated like any unknown stream again (RST StreamClosed, charged).
/// </remarks>
internal sealed class RecentlyEndedStreams
{
    /// <summary>
    /// Ids remembered. Late DATA comes within one round trip of our RST or close, so this must hold the ids ended
    /// within a round trip: 4096 covers 40,000 ends per second at 100 ms, for about 100 KiB at most.
    /// </summary>
    public const int Capacity = 4096;

    private Queue<uint>? _order;
    private Dictionary<uint, EndedStream>? _ended;

    /// <summary>Ids held (for tests and statistics).</summary>
    public int Count => _order?.Count ?? 0;

    /// <summary>Remembers <paramref name="id"/>; the oldest id is forgotten when full.</summary>
    public void Add(uint id, EndedStream how)
    {
        _order ??= new Queue<uint>();
        _ended ??= [];
        if (_ended.TryAdd(id, how))
        {
            if (_order.Count == Capacity)
            {
                _ended.Remove(_order.Dequeue());
            }
            _order.Enqueue(id);
        }
        else
        {
            _ended[id] = how;
        }
    }

    /// <summary>How <paramref name="id"/> ended, if it is still remembered.</summary>
    public bool TryGet(uint id, out EndedStream how)
    {
        how = default;
        return _ended is not null && _ended.TryGetValue(id, out how);
    }

    /// <summary>The first late DATA after a close without RST has been answered: later ones are dropped.</summary>
    public void MarkReset(uint id)
    {
        if (_ended is not null && _ended.ContainsKey(id))
        {
            _ended[id] = EndedStream.ResetByUs;
        }
    }
}
