using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace Muxado.Reactive.UiClient;

/// <summary>
/// The far end, in this process for the demo: every download stream (typed <see cref="DownloadType"/>) carries a request
/// (the length wanted, 8 bytes little-endian, then FIN) and is answered with that many bytes of <see cref="Pattern"/>,
/// then FIN. It accepts typed streams so that the session answers the client's heartbeats by itself (an untyped accept
/// would hand the heartbeat stream to the application). It runs on the thread pool, as another machine would, never
/// on the UI thread.
/// </summary>
public sealed class DownloadServer : IAsyncDisposable
{
    private readonly MuxListener _listener;
    private readonly Task _serving;
    private long _bytesWritten;

    /// <summary>The stream type of a download.</summary>
    public const uint DownloadType = 1;

    private DownloadServer()
    {
        _listener = MuxListener.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _serving = Task.Run(ServeAsync);   // off the UI thread's context: its awaits resume on the pool
    }

    /// <summary>Listens on 127.0.0.1 and an ephemeral port.</summary>
    public static DownloadServer Start() => new();

    public IPEndPoint EndPoint => _listener.LocalEndPoint;

    /// <summary>Bytes every write so far has handed to the session (the sender's progress).</summary>
    public long BytesWritten => Volatile.Read(ref _bytesWritten);

    public static byte[] Request(long length)
    {
        var request = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(request, length);
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.StopAsync(TimeSpan.FromSeconds(2));
        await _serving;
    }

    private async Task ServeAsync()
    {
        var sessions = new List<Task>();
        await foreach (var session in _listener.AcceptAllAsync())
        {
            sessions.Add(ServeSessionAsync(session));
        }
        await Task.WhenAll(sessions);
    }

    private async Task ServeSessionAsync(MuxSession session)
    {
        await using (session)
        {
            var downloads = new List<Task>();
            try
            {
                while (true)
                {
                    var (type, stream) = await session.AcceptTypedAsync();
                    if (type == DownloadType)
                    {
                        downloads.Add(SendAsync(stream));
                    }
                    else
                    {
                        stream.Reset(ErrorCode.StreamRefused);
                    }
                }
            }
            catch (MuxadoSessionException)
            {
                // The session ended (the client closed it or went away): its downloads end with it.
            }
            await Task.WhenAll(downloads);
        }
    }

    private async Task SendAsync(MuxStream stream)
    {
        try
        {
            var request = new ArrayBufferWriter<byte>();
            await foreach (var chunk in stream.ReadAllAsync())
            {
                request.Write(chunk.Span);
            }
            if (request.WrittenCount != 8 || BinaryPrimitives.ReadInt64LittleEndian(request.WrittenSpan) is not (>= 0 and var length))
            {
                stream.Reset(ErrorCode.ProtocolError);
                return;
            }
            for (long sent = 0; sent < length;)
            {
                int size = (int)Math.Min(Pattern.MaxSlice, length - sent);
                // Waits while the client's window is shut: the client returns credit only as its UI thread handles
                // chunks, so a slow UI slows this loop down instead of piling bytes up in the client.
                await stream.WriteAsync(Pattern.Slice(sent, size));
                sent += size;
                Interlocked.Add(ref _bytesWritten, size);
            }
            await stream.CloseWriteAsync();
        }
        catch (MuxadoException)
        {
            // Reset by the client, or the session ended: nothing more to send.
        }
    }
}
