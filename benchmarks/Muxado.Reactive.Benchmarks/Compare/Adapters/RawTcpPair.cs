using System.Buffers;
using System.Net.Sockets;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>Plain TCP: the client socket is the one "opened" stream, the server socket the one "accepted".</summary>
internal sealed class RawTcpPair(Socket client, Socket server) : IMuxPair
{
    private int _opened;
    private int _accepted;

    public bool Multiplexes => false;

    public ValueTask<IBenchStream> OpenAsync() => Interlocked.Exchange(ref _opened, 1) == 0
        ? new ValueTask<IBenchStream>(new RawStream(client))
        : throw new InvalidOperationException("raw TCP has one stream per connection");

    public ValueTask<IBenchStream> AcceptAsync() => Interlocked.Exchange(ref _accepted, 1) == 0
        ? new ValueTask<IBenchStream>(new RawStream(server))
        : throw new InvalidOperationException("raw TCP has one stream per connection");

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        server.Dispose();
        return default;
    }

    internal sealed class RawStream(Socket socket) : IBenchStream
    {
        // The largest write the scenarios make; a read buffer of that size lets the kernel hand over as much as it has.
        private const int ReadBufferSize = 64 * 1024;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
        {
            while (!data.IsEmpty)
            {
                int sent = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
                data = data[sent..];
            }
        }

        public ValueTask CloseWriteAsync()
        {
            socket.Shutdown(SocketShutdown.Send);
            return default;
        }

        public async ValueTask<long> DrainAsync()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
            try
            {
                long total = 0;
                int n;
                while ((n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None).ConfigureAwait(false)) > 0)
                {
                    total += n;
                }
                return total;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        public async ValueTask<int> ReadToEndAsync(Memory<byte> buffer)
        {
            int total = 0;
            int n;
            while ((n = await socket.ReceiveAsync(buffer[total..], SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                total += n;
            }
            return total;
        }

        /// <summary>Fills <paramref name="buffer"/>; false at a clean end of stream before its first byte.</summary>
        public async ValueTask<bool> ReadExactlyAsync(Memory<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = await socket.ReceiveAsync(buffer[total..], SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    return total == 0 ? false : throw new EndOfStreamException("the connection ended inside a message");
                }
                total += n;
            }
            return true;
        }

        // The pair owns the sockets.
        public ValueTask DisposeAsync() => default;
    }
}
