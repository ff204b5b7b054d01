namespace Muxado.Reactive.Benchmarks.Compare.Adapters;

/// <summary>The three things compared: plain TCP, this library, and Nerdbank.Streams' MultiplexingStream (v3).</summary>
internal enum Impl
{
    Raw,
    Muxado,
    Nerdbank,
}

/// <summary>
/// A client end and a server end of one implementation, connected over one loopback TCP connection in this process.
/// </summary>
/// <remarks>
/// The scenarios are written once against this interface so that every implementation runs exactly the same
/// workload; each adapter uses its implementation's idiomatic fast API underneath (muxado: <c>ReadAllAsync</c>,
/// Nerdbank: the channel's <c>PipeReader</c>/<c>PipeWriter</c>, raw: the socket). The cost of the interface call
/// itself is a few nanoseconds per operation, far below anything measured.
/// </remarks>
internal interface IMuxPair : IAsyncDisposable
{
    /// <summary>False for raw TCP: it has exactly one stream per connection.</summary>
    bool Multiplexes { get; }

    /// <summary>Opens a stream from the client end.</summary>
    ValueTask<IBenchStream> OpenAsync();

    /// <summary>The next stream the client opened, taken at the server end.</summary>
    ValueTask<IBenchStream> AcceptAsync();
}

/// <summary>One end of one stream.</summary>
internal interface IBenchStream : IAsyncDisposable
{
    /// <summary>Writes; the caller may reuse <paramref name="data"/> when this completes.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data);

    /// <summary>Half-closes: the peer reads end of stream after the bytes already written.</summary>
    ValueTask CloseWriteAsync();

    /// <summary>Reads and discards everything until end of stream; returns the byte count.</summary>
    ValueTask<long> DrainAsync();

    /// <summary>Reads until end of stream into <paramref name="buffer"/>; returns the byte count (at most its length).</summary>
    ValueTask<int> ReadToEndAsync(Memory<byte> buffer);
}

/// <summary>Makes connected pairs.</summary>
internal static class MuxPairs
{
    /// <param name="muxadoTyped">Muxado only: every stream a typed stream, so that heartbeats are answered (see <see cref="MuxadoPair"/>).</param>
    public static async Task<IMuxPair> ConnectAsync(Impl impl, MuxSessionOptions? muxadoOptions = null, bool muxadoTyped = false)
    {
        var (client, server) = await Loopback.ConnectAsync().ConfigureAwait(false);
        return impl switch
        {
            Impl.Raw => new RawTcpPair(client, server),
            Impl.Muxado => new MuxadoPair(client, server, MuxadoOverrides.Apply(muxadoOptions), muxadoTyped),
            Impl.Nerdbank => await NerdbankPair.CreateAsync(client, server).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(impl), impl, null),
        };
    }

    /// <summary>
    /// Opens one stream and accepts it at the other end. The accept is started first: a Nerdbank offer completes
    /// only once the other side accepts it.
    /// </summary>
    public static async Task<(IBenchStream Opened, IBenchStream Accepted)> OpenAndAcceptAsync(this IMuxPair pair)
    {
        var accepting = pair.AcceptAsync().AsTask();
        var opened = await pair.OpenAsync().ConfigureAwait(false);
        return (opened, await accepting.ConfigureAwait(false));
    }

    public static string Name(this Impl impl) => impl switch
    {
        Impl.Raw => "raw",
        Impl.Muxado => "muxado",
        Impl.Nerdbank => "nerdbank",
        _ => throw new ArgumentOutOfRangeException(nameof(impl), impl, null),
    };

    public static Impl Parse(string name) => name switch
    {
        "raw" => Impl.Raw,
        "muxado" => Impl.Muxado,
        "nerdbank" => Impl.Nerdbank,
        _ => throw new ArgumentException($"unknown implementation '{name}'", nameof(name)),
    };
}
