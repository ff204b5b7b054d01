using System.Net.Sockets;

namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>Two muxado sessions (client and server) over one loopback connection.</summary>
/// <remarks>
/// <para>Without what-if knobs this is exactly <c>MuxSession.Create(socket, role, options)</c>; with them the transport is
/// built by <see cref="MuxadoOverrides.Transport"/>.</para>
/// <para>With <c>typed</c>, every stream is a typed stream (type 1): opened with <c>OpenTypedAsync</c>, taken with
/// <c>AcceptTypedAsync</c>, which is what answers the client's heartbeats at the server end (as in Go, the heartbeat
/// is a typed stream of its own that the application never sees).</para>
/// </remarks>
internal sealed class MuxadoPair(Socket client, Socket server, MuxSessionOptions options, bool typed = false) : IMuxPair
{
    private const uint StreamType = 1;

    private readonly MuxSession _client = MuxadoOverrides.HasTransportKnobs
        ? MuxSession.Client(MuxadoOverrides.Transport(client, options), options)
        : MuxSession.Create(client, SessionRole.Client, options);
    private readonly MuxSession _server = MuxadoOverrides.HasTransportKnobs
        ? MuxSession.Server(MuxadoOverrides.Transport(server, options), options)
        : MuxSession.Create(server, SessionRole.Server, options);

    public bool Multiplexes => true;

    public async ValueTask<IBenchStream> OpenAsync() => typed
        ? new MuxadoStream(await _client.OpenTypedAsync(StreamType).ConfigureAwait(false))
        : new MuxadoStream(_client.Open());

    public async ValueTask<IBenchStream> AcceptAsync() => typed
        ? new MuxadoStream((await _server.AcceptTypedAsync().ConfigureAwait(false)).Stream)
        : new MuxadoStream(await _server.AcceptAsync().ConfigureAwait(false));

    /// <summary>
    /// A heartbeat on the client session that beats only when asked (<see cref="Heartbeat.BeatAsync"/>): its interval is
    /// far longer than any run, so no beat of its own disturbs what is measured.
    /// </summary>
    public Task<Heartbeat> StartHeartbeatAsync() =>
        Heartbeat.StartAsync(_client, interval: TimeSpan.FromHours(1), tolerance: TimeSpan.FromSeconds(30));

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
