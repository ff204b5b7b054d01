namespace Muxado.Reactive;

/// <summary>The observer behind a stream's drain: an Rx observer, with or without automatic credit.</summary>
internal interface IChunkConsumer
{
    /// <summary>Credit returns when <see cref="OnNext"/> returns (otherwise the chunk carries its credit).</summary>
    bool AutoCredit { get; }

    void OnNext(ReadOnlyMemory<byte> chunk);

    /// <summary>The end: completion when <paramref name="error"/> is null.</summary>
    void OnEnd(Exception? error);
}

/// <summary>Plain <see cref="MuxStream.Received"/> subscriber.</summary>
internal sealed class AutoCreditConsumer(IObserver<ReadOnlyMemory<byte>> observer) : IChunkConsumer
{
    public bool AutoCredit => true;

    public void OnNext(ReadOnlyMemory<byte> chunk) => observer.OnNext(chunk);

    public void OnEnd(Exception? error) => observer.End(error);
}

/// <summary><see cref="MuxStream.ReceivedWithCredit"/> subscriber: each chunk releases its own credit.</summary>
internal sealed class ManualCreditConsumer(MuxStream stream, IObserver<CreditedChunk> observer) : IChunkConsumer
{
    public bool AutoCredit => false;

    public void OnNext(ReadOnlyMemory<byte> chunk) => observer.OnNext(new CreditedChunk(stream, chunk));

    public void OnEnd(Exception? error) => observer.End(error);
}
