using System.Buffers.Binary;
using System.Reactive.Linq;

namespace Muxado.Reactive;

/// <summary>A stream of the typed-stream extension: its opener's first 4 bytes (big-endian) name its type.</summary>
/// <param name="Type">The stream type.</param>
/// <param name="Stream">The stream, positioned after the type.</param>
public sealed record TypedStream(uint Type, MuxStream Stream);

public sealed partial class MuxSession
{
    /// <summary>The stream type the heartbeat extension uses.</summary>
    public const uint HeartbeatStreamType = 0xFFFFFFFF;

    /// <summary>Opens a typed stream: the type goes out as the first 4 bytes.</summary>
    public async ValueTask<MuxStream> OpenTypedAsync(uint type, CancellationToken cancellationToken = default)
    {
        var stream = Open();
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, type);
        try
        {
            await stream.WriteAsync(prefix, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or MuxadoException)
        {
            // A typed stream without its type would hold up the peer's typed accept: never leave one open.
            stream.Reset(ErrorCode.StreamCancelled);
            throw;
        }
        return stream;
    }

    /// <summary>
    /// Accepts the next typed stream, reading its 4-byte type (which may arrive split across frames).
    /// Heartbeat streams are answered by the responder and never returned (see <see cref="MuxSessionOptions.RespondToHeartbeats"/>).
    /// </summary>
    public async Task<TypedStream> AcceptTypedAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var stream = await AcceptAsync(cancellationToken).ConfigureAwait(false);
            var typed = await ReadTypeAsync(stream, cancellationToken).ConfigureAwait(false);
            if (typed is not null)
            {
                return typed;
            }
        }
    }

    /// <summary>Typed streams the peer opens, as an Rx sequence (heartbeat streams answered and hidden).</summary>
    public IObservable<TypedStream> IncomingTyped =>
        Incoming.SelectMany(stream => Observable.FromAsync(ct => ReadTypeAsync(stream, ct)))
                .Where(typed => typed is not null)
                .Select(typed => typed!);

    /// <summary>Reads the type prefix; returns null for a stream it handed to the heartbeat responder or that ended early.</summary>
    internal async Task<TypedStream?> ReadTypeAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        var prefix = new byte[4];
        int read = 0;
        try
        {
            while (read < 4)
            {
                var chunk = await stream.ReadChunkAsync(4 - read, cancellationToken).ConfigureAwait(false);
                if (chunk is not { } data)
                {
                    break;
                }
                data.CopyTo(prefix.AsMemory(read));
                read += data.Length;
                stream.ReportConsumed(data.Length);
            }
        }
        catch (MuxadoException)
        {
            return null; // reset or session end before the type arrived: nothing to hand out
        }
        catch (OperationCanceledException)
        {
            // The stream was accepted already; nobody will own it now, so it must not linger open.
            stream.Reset(ErrorCode.StreamCancelled);
            throw;
        }
        if (read < 4)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        uint type = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (type == HeartbeatStreamType && Options.RespondToHeartbeats)
        {
            _ = HeartbeatResponder.RunAsync(stream);
            return null;
        }
        return new TypedStream(type, stream);
    }
}
