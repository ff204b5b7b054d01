namespace Muxado.Reactive;

/// <summary>
/// A stream's received, unread bytes, in order. Guarded by the session lock (no locking of its own).
/// </summary>
/// <remarks>
/// Each DATA payload is normally its own chunk (one <c>OnNext</c> per frame). Once a reader has fallen behind by
/// many chunks, further small payloads are copied together into a shared tail buffer instead: a peer that sends
/// its window as thousands of tiny DATA frames would otherwise make us hold an array and a queue slot per frame,
/// many times the bytes that the window and <see cref="MuxSessionOptions.MaxBufferedBytes"/> account for.
/// Bytes of the tail are only ever appended after the part already queued or handed out, so memory given to a
/// reader is never written again (DESIGN.md, "ownership of bytes").
/// </remarks>
internal sealed class ReceiveQueue
{
    // Only payloads this small are copied together: their array header and queue slot (about 40 bytes) are a large part
    // of them. A 1 KiB payload's overhead is 4 %, less than what copying it again costs (the frame reader has already
    // given it an array of its own): with 1 KiB here, 64 streams of 1 KiB writes allocated half again as many bytes.
    private const int SmallPayload = 256;
    private const int TailSize = 4096;
    private const int CoalesceAfterChunks = 64;

    private readonly Queue<ReadOnlyMemory<byte>> _chunks = new();
    private ReadOnlyMemory<byte> _front; // put back by a reader that took less than a whole chunk
    private Stack<ReadOnlyMemory<byte>>? _returned; // given back unread by a credit operator; read before _front
    private byte[]? _tail;
    private int _tailStart;
    private int _tailEnd;

    /// <summary>Unread bytes held.</summary>
    public int Length { get; private set; }

    public bool HasData => _returned is { Count: > 0 } || !_front.IsEmpty || _chunks.Count > 0 || _tailEnd > _tailStart;

    public void Enqueue(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        Length += data.Length;
        if (data.Length > SmallPayload || _chunks.Count < CoalesceAfterChunks)
        {
            SealTail();
            _chunks.Enqueue(data);
            return;
        }
        if (_tail is null || _tail.Length - _tailEnd < data.Length)
        {
            SealTail();
            _tail = GC.AllocateUninitializedArray<byte>(TailSize);
            _tailStart = _tailEnd = 0;
        }
        data.Span.CopyTo(_tail.AsSpan(_tailEnd));
        _tailEnd += data.Length;
    }

    /// <summary>Takes the oldest bytes, at most <paramref name="max"/>; call only when <see cref="HasData"/>.</summary>
    public ReadOnlyMemory<byte> Take(int max)
    {
        ReadOnlyMemory<byte> chunk;
        if (_returned is { Count: > 0 })
        {
            chunk = _returned.Pop();
        }
        else if (!_front.IsEmpty)
        {
            chunk = _front;
            _front = default;
        }
        else if (_chunks.Count > 0)
        {
            chunk = _chunks.Dequeue();
        }
        else
        {
            chunk = _tail.AsMemory(_tailStart, _tailEnd - _tailStart);
            _tailStart = _tailEnd;
        }
        if (chunk.Length > max)
        {
            PutBack(chunk[max..]);
            chunk = chunk[..max];
        }
        Length -= chunk.Length;
        return chunk;
    }

    /// <summary>
    /// Puts chunks that were taken but never consumed back at the head, <paramref name="chunks"/>[0] first: their bytes
    /// are still unread, and the next reader must see them before anything that arrived after them.
    /// </summary>
    public void PushFront(IReadOnlyList<ReadOnlyMemory<byte>> chunks)
    {
        for (int i = chunks.Count - 1; i >= 0; i--)
        {
            if (!chunks[i].IsEmpty)
            {
                PutBack(chunks[i]);
                Length += chunks[i].Length;
            }
        }
    }

    private void PutBack(ReadOnlyMemory<byte> chunk)
    {
        if (_front.IsEmpty && _returned is not { Count: > 0 })
        {
            _front = chunk;
        }
        else
        {
            (_returned ??= new()).Push(chunk);
        }
    }

    /// <summary>Drops everything unread (reset or close).</summary>
    public void Clear()
    {
        Length = 0;
        _returned = null;
        _front = default;
        _chunks.Clear();
        _tail = null;
        _tailStart = _tailEnd = 0;
    }

    /// <summary>Moves the tail's unqueued bytes into the queue, so that a large chunk after them stays in order.</summary>
    private void SealTail()
    {
        if (_tail is not null && _tailEnd > _tailStart)
        {
            _chunks.Enqueue(_tail.AsMemory(_tailStart, _tailEnd - _tailStart));
            _tailStart = _tailEnd;
        }
    }
}
