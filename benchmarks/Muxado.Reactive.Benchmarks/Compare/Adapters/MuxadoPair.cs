using System.Net.Sockets;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>Two muxado sessions (client and server) over one loopback connection.</summary>
/// <remarks>
/// Without what-if knobs this is exactly <c>MuxSession.Create(socket, role, options)</c>; with them the transport is
/// built by <see cref="MuxadoOverrides.Transport"/>.
/// </remarks>
internal sealed class MuxadoPair(Socket client, Socket server, MuxSessionOptions options) : IMuxPair
{
    private readonly MuxSession _client = MuxadoOverrides.HasTransportKnobs
        ? MuxSession.Client(MuxadoOverrides.Transport(client, options), options)
        : MuxSession.Create(client, SessionRole.Client, options);
    private readonly MuxSession _server = MuxadoOverrides.HasTransportKnobs
        ? MuxSession.Server(MuxadoOverrides.Transport(server, options), options)
        : MuxSession.Create(server, SessionRole.Server, options);

    public bool Multiplexes => true;

    public ValueTask<IBenchStream> OpenAsync() => new(new MuxadoStream(_client.Open()));

    public async ValueTask<IBenchStream> AcceptAsync() => new MuxadoStream(await _server.AcceptAsync().ConfigureAwait(false));

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_client.DisposeAsync().AsTask(), _server.DisposeAsync().AsTask()).ConfigureAwait(false);
    }

    private sealed class MuxadoStream(MuxStream stream) : IBenchStream
    {
        public ValueTask WriteAsync(ReadOnlyMemory<byte> data) => stream.WriteAsync(data);

        public ValueTask CloseWriteAsync() => stream.CloseWriteAsync();

        // ReadAllAsync hands over the received chunks themselves (no copy); credit returns as each is consumed.
        public async ValueTask<long> DrainAsync()
        {
            long total = 0;
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                total += chunk.Length;
            }
            return total;
        }

        public async ValueTask<int> ReadToEndAsync(Memory<byte> buffer)
        {
            int total = 0;
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                chunk.CopyTo(buffer[total..]);
                total += chunk.Length;
            }
            return total;
        }

        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}
