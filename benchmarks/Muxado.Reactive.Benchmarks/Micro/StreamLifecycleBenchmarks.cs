using System.Reactive.Concurrency;
using BenchmarkDotNet.Attributes;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Benchmarks.Micro;

/// <summary>Opening and closing streams: the per-stream fixed cost that the request/response scenarios pay.</summary>
[MemoryDiagnoser]
public class StreamLifecycleBenchmarks
{
    private NullTransport _clientTransport = null!;
    private MuxSession _client = null!;
    private NullTransport _serverTransport = null!;
    private MuxSession _server = null!;
    private uint _nextPeerId;
    private MuxSession _pairClient = null!;
    private MuxSession _pairServer = null!;
    private readonly byte[] _request = new byte[64];

    [GlobalSetup]
    public void Setup()
    {
        _clientTransport = new NullTransport(encode: true);
        _client = MuxSession.Client(_clientTransport.Transport);
        _serverTransport = new NullTransport(encode: true);
        _server = MuxSession.Server(_serverTransport.Transport, new MuxSessionOptions { Scheduler = ImmediateScheduler.Instance });
        _nextPeerId = 1;

        var (left, right) = FrameTransport.CreateInMemoryPair();
        _pairClient = MuxSession.Client(left);
        _pairServer = MuxSession.Server(right);
        _ = ServeEchoAsync(_pairServer);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var session in new[] { _client, _server, _pairClient, _pairServer })
        {
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Local side: Open (SYN out), DisposeAsync (FIN out), then the peer's FIN arrives and the stream is forgotten.</summary>
    [Benchmark]
    public void OpenClose()
    {
        var stream = _client.Open();
        var closing = stream.DisposeAsync();
        if (!closing.IsCompletedSuccessfully)
        {
            closing.AsTask().GetAwaiter().GetResult();
        }
        _clientTransport.Receive(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin));
    }

    /// <summary>Remote side: the peer's SYN arrives, AcceptAsync takes it, DisposeAsync (FIN out), the peer's FIN arrives.</summary>
    [Benchmark]
    public void AcceptClose()
    {
        _nextPeerId += 2;
        _serverTransport.Receive(Frame.Data(_nextPeerId, ReadOnlyMemory<byte>.Empty, FrameFlags.Syn));
        var stream = _server.AcceptAsync().GetAwaiter().GetResult();
        var closing = stream.DisposeAsync();
        if (!closing.IsCompletedSuccessfully)
        {
            closing.AsTask().GetAwaiter().GetResult();
        }
        _serverTransport.Receive(Frame.Data(stream.Id, ReadOnlyMemory<byte>.Empty, FrameFlags.Fin));
    }

    /// <summary>
    /// One request/response stream end to end over the in-memory transport pair (real codec, thread-pool delivery):
    /// open, write 64 bytes, half-close, read the echo, close; allocations of both sessions included.
    /// </summary>
    [Benchmark]
    public async Task RequestResponseInMemory()
    {
        var stream = _pairClient.Open();
        await stream.WriteAsync(_request).ConfigureAwait(false);
        await stream.CloseWriteAsync().ConfigureAwait(false);
        await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
        {
            _ = chunk;
        }
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task ServeEchoAsync(MuxSession server)
    {
        try
        {
            await foreach (var stream in server.AcceptAllAsync().ConfigureAwait(false))
            {
                _ = EchoAsync(stream);
            }
        }
        catch (MuxadoSessionException)
        {
            // The session ended at cleanup.
        }
    }

    private static async Task EchoAsync(MuxStream stream)
    {
        try
        {
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                await stream.WriteAsync(chunk).ConfigureAwait(false);
            }
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (MuxadoException)
        {
            // Cleanup cut it off.
        }
    }
}
