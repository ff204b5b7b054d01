using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Muxado.Reactive.Interop;

/// <summary>
/// Serves PEER.md's behaviours on every typed stream a session accepts: echo (1), sink (2), source (3),
/// callback (4), and read-to-FIN-and-discard for any other type. Heartbeat streams never reach it (the
/// session answers them). Each stream is handled on its own task, so a slow stream holds up no other.
/// </summary>
public sealed class BehaviourServer : IAsyncDisposable
{
    private readonly MuxSession _session;
    private readonly TimeSpan _callbackTimeout;
    private readonly Action<string>? _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _incomingEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _handlers = [];
    private IDisposable? _subscription;
    private int _served;

    private BehaviourServer(MuxSession session, TimeSpan callbackTimeout, Action<string>? log)
    {
        _session = session;
        _callbackTimeout = callbackTimeout;
        _log = log;
    }

    /// <summary>
    /// Starts serving the streams <paramref name="session"/> accepts. Start it right after creating the
    /// session, so that streams do not wait in the accept backlog.
    /// </summary>
    /// <param name="session">The session whose incoming typed streams to serve.</param>
    /// <param name="callbackTimeout">How long the callback behaviour waits for its echo round trip.</param>
    /// <param name="log">Where to report a behaviour that failed (null: nowhere).</param>
    public static BehaviourServer Start(MuxSession session, TimeSpan callbackTimeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        var server = new BehaviourServer(session, callbackTimeout, log);
        server._subscription = session.IncomingTyped.Subscribe(
            server.OnStream,
            error => server._incomingEnded.TrySetResult(),
            () => server._incomingEnded.TrySetResult());
        return server;
    }

    /// <summary>How many streams have been handed to a behaviour so far.</summary>
    public int Served => Volatile.Read(ref _served);

    /// <summary>Completes once the session has ended and every behaviour has finished.</summary>
    public Task Completion => WaitForHandlersAsync();

    private void OnStream(TypedStream typed)
    {
        Interlocked.Increment(ref _served);
        var task = Task.Run(() => HandleAsync(typed));
        lock (_gate)
        {
            _handlers.Add(task);
        }
        task.ContinueWith(
            done =>
            {
                lock (_gate)
                {
                    _handlers.Remove(done);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task WaitForHandlersAsync()
    {
        await _incomingEnded.Task.ConfigureAwait(false);
        while (true)
        {
            Task[] pending;
            lock (_gate)
            {
                pending = [.. _handlers];
            }
            if (pending.Length == 0)
            {
                return;
            }
            await Task.WhenAll(pending).ConfigureAwait(false); // handlers never fault: HandleAsync catches
        }
    }

    private async Task HandleAsync(TypedStream typed)
    {
        var stream = typed.Stream;
        var cancellationToken = _stop.Token;
        try
        {
            switch (typed.Type)
            {
                case StreamTypes.Echo:
                    await EchoAsync(stream, cancellationToken).ConfigureAwait(false);
                    break;
                case StreamTypes.Sink:
                    await SinkAsync(stream, cancellationToken).ConfigureAwait(false);
                    break;
                case StreamTypes.Source:
                    await SourceAsync(stream, cancellationToken).ConfigureAwait(false);
                    break;
                case StreamTypes.Callback:
                    await CallbackAsync(stream, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await StreamIO.DiscardToEndAsync(stream, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception ex) when (ex is MuxadoException or OperationCanceledException or PeerCheckException or InvalidOperationException)
        {
            stream.Reset(ErrorCode.StreamCancelled);
            bool expected = _stop.IsCancellationRequested || ex is MuxadoSessionException { End.IsClean: true };
            if (!expected)
            {
                _log?.Invoke($"behaviour {StreamTypes.NameOf(typed.Type)} on stream {stream.Id} failed: {ex.Message}");
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task EchoAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await stream.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task SinkAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long count = 0;
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            hash.AppendData(chunk.Span);
            count += chunk.Length;
        }
        var reply = new byte[8 + SHA256.HashSizeInBytes];
        BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)count);
        hash.GetHashAndReset(reply.AsSpan(8));
        await stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task SourceAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        long n = await StreamIO.ReadLengthAsync(stream, cancellationToken).ConfigureAwait(false);
        await StreamIO.WritePatternAsync(stream, n, null, cancellationToken).ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CallbackAsync(MuxStream stream, CancellationToken cancellationToken)
    {
        long n = await StreamIO.ReadLengthAsync(stream, cancellationToken).ConfigureAwait(false);
        string answer = await EchoBackAsync(n, cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(answer + "\n"), cancellationToken).ConfigureAwait(false);
        await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The callback's round trip: N pattern bytes through a new echo stream to the opener; "ok" or "bad ...".</summary>
    private async Task<string> EchoBackAsync(long n, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callbackTimeout);
        var token = timeout.Token;
        MuxStream? back = null;
        try
        {
            back = await _session.OpenTypedAsync(StreamTypes.Echo, token).ConfigureAwait(false);
            var stream = back;
            await Duplex.RunAsync(
                stream,
                async () =>
                {
                    await StreamIO.WritePatternAsync(stream, n, null, token).ConfigureAwait(false);
                    await stream.CloseWriteAsync(token).ConfigureAwait(false);
                },
                () => StreamIO.VerifyPatternToEndAsync(stream, n, token)).ConfigureAwait(false);
            return "ok";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"bad echo of {n} bytes timed out after {_callbackTimeout.TotalSeconds:0.###}s";
        }
        catch (Exception ex) when (ex is MuxadoException or PeerCheckException or InvalidOperationException && ex is not MuxadoSessionException)
        {
            return $"bad echo of {n} bytes: {ex.Message}";
        }
        finally
        {
            if (back is not null)
            {
                await back.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops taking streams, cancels the behaviours in progress and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        _incomingEnded.TrySetResult();
        await _stop.CancelAsync().ConfigureAwait(false);
        await WaitForHandlersAsync().ConfigureAwait(false);
    }
}
