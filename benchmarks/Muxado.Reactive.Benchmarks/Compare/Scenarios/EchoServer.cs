using System.Buffers;
using Muxado.Reactive.Benchmarks.Compare.Adapters;

namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>Accepts streams until the pair is closed and echoes each one on its own task.</summary>
internal sealed class EchoServer(IMuxPair pair)
{
    private Exception? _failure;

    public async Task RunAsync()
    {
        while (true)
        {
            IBenchStream stream;
            try
            {
                stream = await pair.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception) when (Volatile.Read(ref _failure) is null)
            {
                return; // the pair was closed at the end of the run
            }
            _ = EchoAsync(stream);
        }
    }

    public void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw new InvalidOperationException("the echo server failed", failure);
        }
    }

    private async Task EchoAsync(IBenchStream stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            int length = await stream.ReadToEndAsync(buffer).ConfigureAwait(false);
            await stream.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
            await stream.CloseWriteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref _failure, ex, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
