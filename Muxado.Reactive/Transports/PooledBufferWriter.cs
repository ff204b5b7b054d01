using System.Buffers;

namespace Muxado.Reactive.Transports;

/// <summary>
/// A growable byte buffer whose array is rented from an <see cref="ArrayPool{T}"/> only while it is needed: nothing is
/// rented until the first <see cref="GetSpan"/> or <see cref="GetMemory"/>, and <see cref="Release"/> gives the array
/// back, so a buffer that is not in use costs an idle transport only this small object.
/// </summary>
/// <remarks>
/// <para>Not thread-safe: its owner serialises every call (the <see cref="CoalescingFrameWriter"/> does so with its lock,
/// or by being the only one holding the buffer while a batch is written).</para>
/// <para>Ownership of the array: this object holds at most one rented array at a time. Growing rents the bigger array,
/// copies the written bytes, then returns the old one; <see cref="Release"/> returns the current one and forgets it. So
/// every array rented is returned exactly once, and never touched by this object after it was returned. Memory handed
/// out (<see cref="WrittenMemory"/>, <see cref="GetMemory"/>) is valid only until the next call that may grow or
/// release: whoever reads it (a socket write) must be done before the owner calls <see cref="Release"/>. Arrays go back
/// uncleared, as is usual with <see cref="ArrayPool{T}.Shared"/>.</para>
/// </remarks>
internal sealed class PooledBufferWriter(ArrayPool<byte> pool, int initialSize) : IBufferWriter<byte>
{
    private byte[]? _array;
    private int _written;

    /// <summary>Bytes written since the last <see cref="Clear"/> or <see cref="Release"/>.</summary>
    public int WrittenCount => _written;

    /// <summary>Length of the array held now; 0 when none is rented.</summary>
    public int Capacity => _array?.Length ?? 0;

    /// <summary>The bytes written, in the array held now.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _array is null ? ReadOnlyMemory<byte>.Empty : _array.AsMemory(0, _written);

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > Capacity - _written)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }
        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _array.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _array.AsSpan(_written);
    }

    /// <summary>Forgets the bytes written and keeps the array, for reuse.</summary>
    public void Clear() => _written = 0;

    /// <summary>Forgets the bytes written and returns the array to the pool (if one is held). Idempotent.</summary>
    public void Release()
    {
        var array = _array;
        _array = null;
        _written = 0;
        if (array is not null)
        {
            pool.Return(array);
        }
    }

    private void Reserve(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_array is null)
        {
            _array = pool.Rent(Math.Max(needed, initialSize));
            return;
        }
        if (_array.Length - _written >= needed)
        {
            return;
        }
        // Doubling, as ArrayBufferWriter does, so that a burst of frames grows the buffer in few steps.
        int size = (int)Math.Min(Math.Max((long)_written + needed, 2L * _array.Length), Array.MaxLength);
        if (size - _written < needed)
        {
            throw new OutOfMemoryException("The write buffer cannot grow any further.");
        }
        var bigger = pool.Rent(size);
        _array.AsSpan(0, _written).CopyTo(bigger);
        var old = _array;
        _array = bigger;
        pool.Return(old);
    }
}
