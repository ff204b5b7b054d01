using System.Net.Sockets;
using Nerdbank.Streams;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>
/// Two Nerdbank.Streams <see cref="MultiplexingStream"/>s, protocol v3 (no handshake, per-channel flow control),
/// over one loopback connection. Streams are named channels with the empty name: offered by the client, accepted
/// by the server (the offer completes when the server accepts, one round trip, as the protocol requires).
/// </summary>
internal sealed class NerdbankPair : IMuxPair
{
    private readonly MultiplexingStream _client;
    private readonly MultiplexingStream _server;

    private NerdbankPair(MultiplexingStream client, MultiplexingStream server)
    {
        _client = client;
        _server = server;
    }

    public static async Task<NerdbankPair> CreateAsync(Socket client, Socket server)
    {
        var options = new MultiplexingStream.Options { ProtocolMajorVersion = 3 };
        var creatingClient = MultiplexingStream.CreateAsync(new NetworkStream(client, ownsSocket: true), options);
        var creatingServer = MultiplexingStream.CreateAsync(new NetworkStream(server, ownsSocket: true), options);
        return new NerdbankPair(await creatingClient.ConfigureAwait(false), await creatingServer.ConfigureAwait(false));
    }

    public bool Multiplexes => true;

    public async ValueTask<IBenchStream> OpenAsync() =>
        new NerdbankStream(await _client.OfferChannelAsync(string.Empty).ConfigureAwait(false));

    public async ValueTask<IBenchStream> AcceptAsync() =>
        new NerdbankStream(await _server.AcceptChannelAsync(string.Empty).ConfigureAwait(false));

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_client.DisposeAsync().AsTask(), _server.DisposeAsync().AsTask()).ConfigureAwait(false);
    }

    private sealed class NerdbankStream(MultiplexingStream.Channel channel) : IBenchStream
    {
        // PipeWriter.WriteAsync copies into the channel's pipe and flushes, which is what lets the caller reuse its buffer.
        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data) => await channel.Output.WriteAsync(data).ConfigureAwait(false);

        public ValueTask CloseWriteAsync() => channel.Output.CompleteAsync();

        public async ValueTask<long> DrainAsync()
        {
            long total = 0;
            while (true)
            {
                var result = await channel.Input.ReadAsync().ConfigureAwait(false);
                total += result.Buffer.Length;
                channel.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return total;
                }
            }
        }

        public async ValueTask<int> ReadToEndAsync(Memory<byte> buffer)
        {
            int total = 0;
            while (true)
            {
                var result = await channel.Input.ReadAsync().ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    segment.CopyTo(buffer[total..]);
                    total += segment.Length;
                }
                channel.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return total;
                }
            }
        }

        // Completing both directions is the documented clean close: the channel disposes itself once the peer has
        // done the same. Channel.Dispose would be the "break glass" abort that may drop queued bytes.
        public async ValueTask DisposeAsync()
        {
            await channel.Output.CompleteAsync().ConfigureAwait(false);
            await channel.Input.CompleteAsync().ConfigureAwait(false);
        }
    }
}
