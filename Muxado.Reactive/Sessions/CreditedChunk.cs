namespace Muxado.Reactive;

/// <summary>
/// Received bytes that hold their flow-control credit until <see cref="Release"/>: the peer may not reuse
/// that part of the window before the work on these bytes is really done.
/// </summary>
public sealed class CreditedChunk
{
    private readonly MuxStream _stream;
    private int _released;

    internal CreditedChunk(MuxStream stream, ReadOnlyMemory<byte> data)
    {
        _stream = stream;
        Data = data;
    }

    /// <summary>The bytes; owned by the receiver, valid for as long as it keeps them.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The stream they came from.</summary>
    public MuxStream Stream => _stream;

    /// <summary>True once <see cref="Release"/> has run.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Returns the chunk's credit to the peer. Idempotent; thread-safe.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _stream.ReportConsumed(Data.Length);
        }
    }

    /// <summary>
    /// Takes the chunk back unconsumed (a credit operator unsubscribed before handing it on): true if it was neither
    /// released nor taken back before; a later <see cref="Release"/> does nothing.
    /// </summary>
    internal bool TryTakeBack() => Interlocked.Exchange(ref _released, 1) == 0;
}
