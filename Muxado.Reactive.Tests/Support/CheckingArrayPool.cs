using System.Buffers;

namespace Muxado.Reactive.Tests.Support;

/// <summary>
/// An <see cref="ArrayPool{T}"/> that checks how its arrays are used: every rent is a fresh array, a returned array is
/// filled with <see cref="Poison"/> and never handed out again, so an array written after its return (the poison is
/// gone) or read after it (the poison shows up on the wire) is caught, and so is a second return of the same array.
/// </summary>
internal sealed class CheckingArrayPool : ArrayPool<byte>
{
    /// <summary>What a returned array is filled with (a frame type no codec accepts, so it cannot pass for a frame).</summary>
    public const byte Poison = 0xDD;

    private readonly object _gate = new();
    private readonly HashSet<byte[]> _outstanding = new(ReferenceEqualityComparer.Instance);
    private readonly List<byte[]> _returned = [];
    private readonly List<string> _misuses = [];
    private int _rents;

    /// <summary>Arrays rented so far.</summary>
    public int Rents
    {
        get
        {
            lock (_gate)
            {
                return _rents;
            }
        }
    }

    /// <summary>Arrays rented and not yet returned.</summary>
    public int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _outstanding.Count;
            }
        }
    }

    /// <summary>Returns of arrays that were not out (a second return, or an array that is not ours).</summary>
    public IReadOnlyList<string> Misuses
    {
        get
        {
            lock (_gate)
            {
                return [.. _misuses];
            }
        }
    }

    /// <summary>How many returned arrays have lost their poison: they were written after they were returned.</summary>
    public int WrittenAfterReturn()
    {
        lock (_gate)
        {
            return _returned.Count(array => array.AsSpan().ContainsAnyExcept(Poison));
        }
    }

    public override byte[] Rent(int minimumLength)
    {
        var array = new byte[Math.Max(minimumLength, 16)];
        lock (_gate)
        {
            _rents++;
            _outstanding.Add(array);
        }
        return array;
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        lock (_gate)
        {
            if (!_outstanding.Remove(array))
            {
                _misuses.Add($"an array of {array.Length} bytes was returned that was not out");
                return;
            }
            Array.Fill(array, Poison);
            _returned.Add(array);
        }
    }
}
