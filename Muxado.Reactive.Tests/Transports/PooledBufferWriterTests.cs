using Muxado.Reactive.Tests.Support;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>The write buffer that holds a pooled array only while it is in use.</summary>
[TestFixture]
public sealed class PooledBufferWriterTests
{
    [Test]
    public void Nothing_is_rented_until_the_first_write_and_Release_gives_the_array_back()
    {
        var pool = new CheckingArrayPool();
        var buffer = new PooledBufferWriter(pool, initialSize: 256);

        Assert.That((pool.Rents, buffer.Capacity, buffer.WrittenMemory.Length), Is.EqualTo((0, 0, 0)));
        buffer.GetSpan(3)[..3].Fill(7);
        buffer.Advance(3);
        Assert.That((pool.Rents, pool.Outstanding, buffer.Capacity), Is.EqualTo((1, 1, 256)));
        Assert.That(buffer.WrittenMemory.ToArray(), Is.EqualTo(new byte[] { 7, 7, 7 }));

        buffer.Release();
        buffer.Release();

        Assert.That((pool.Outstanding, buffer.Capacity, buffer.WrittenCount), Is.EqualTo((0, 0, 0)));
        Assert.That(pool.Misuses, Is.Empty, "a second Release returns nothing");
        Assert.That(pool.WrittenAfterReturn(), Is.Zero);
    }

    [Test]
    public void Growing_keeps_the_bytes_and_returns_the_smaller_array()
    {
        var pool = new CheckingArrayPool();
        var buffer = new PooledBufferWriter(pool, initialSize: 256);
        byte[] first = [.. Enumerable.Range(0, 200).Select(i => (byte)i)];
        first.CopyTo(buffer.GetSpan(first.Length));
        buffer.Advance(first.Length);

        buffer.GetSpan(1000)[..1000].Fill(0xAB);
        buffer.Advance(1000);

        Assert.That((pool.Rents, pool.Outstanding), Is.EqualTo((2, 1)), "the first array went back when the buffer grew");
        Assert.That(buffer.Capacity, Is.GreaterThanOrEqualTo(1200));
        Assert.That(buffer.WrittenMemory[..200].ToArray(), Is.EqualTo(first));
        Assert.That(buffer.WrittenMemory[200..].ToArray(), Is.All.EqualTo(0xAB));
        Assert.That(pool.WrittenAfterReturn(), Is.Zero, "nothing is written into the array given back");
    }

    [Test]
    public void Clear_keeps_the_array_for_the_next_batch()
    {
        var pool = new CheckingArrayPool();
        var buffer = new PooledBufferWriter(pool, initialSize: 256);
        buffer.GetSpan(10);
        buffer.Advance(10);

        buffer.Clear();
        buffer.GetSpan(100);

        Assert.That((buffer.WrittenCount, pool.Rents, pool.Outstanding), Is.EqualTo((0, 1, 1)));
    }

    [Test]
    public void Advancing_past_the_array_is_refused()
    {
        var buffer = new PooledBufferWriter(new CheckingArrayPool(), initialSize: 256);

        Assert.That(() => buffer.Advance(1), Throws.InvalidOperationException, "nothing rented yet");
        buffer.GetSpan(10);
        Assert.That(() => buffer.Advance(buffer.Capacity + 1), Throws.InvalidOperationException);
        Assert.That(() => buffer.Advance(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
