namespace Muxado.Reactive;

public sealed partial class MuxStream
{
    // Send state; guarded by the session lock, except _writeLock which orders writes and closes.
    private SemaphoreSlim? _writeLock;
    private bool _writeClosed;
    private bool _closing; // DisposeAsync has started: a write must not start waiting for window
    private Exception? _writeError;
    private TaskCompletionSource<bool>? _windowWaiter;

    private SemaphoreSlim WriteLock
    {
        get
        {
            if (_writeLock is null)
            {
                Interlocked.CompareExchange(ref _writeLock, new SemaphoreSlim(1, 1), null);
            }
            return _writeLock;
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/>, waiting while the peer's window is full. Concurrent writes on one
    /// stream are applied one after another, never interleaved.
    /// </summary>
    /// <exception cref="MuxadoStreamException">The stream was reset.</exception>
    /// <exception cref="MuxadoSessionException">The session ended.</exception>
    /// <exception cref="InvalidOperationException">The stream was half-closed or closed.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var writeLock = WriteLock;
        await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int offset = 0;
            do
            {
                await _session.WaitForTransportSpaceAsync(cancellationToken).ConfigureAwait(false);
                TaskCompletionSource<bool>? waiter = null;
                lock (Gate)
                {
                    ThrowIfCannotWriteLocked();
                    var result = _session.Core.Send(Id, data[offset..]);
                    if (result.Failed)
                    {
                        throw new MuxadoException(result.Error, $"cannot write to stream {Id}: {result.Error}");
                    }
                    offset += result.BytesSent;
                    if (offset < data.Length && result.BytesSent == 0)
                    {
                        if (_closing)
                        {
                            throw AbortForCloseLocked();
                        }
                        waiter = _windowWaiter = new TaskCompletionSource<bool>();
                    }
                }
                if (waiter is not null)
                {
                    try
                    {
                        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // A cancelled write no longer waits: a later close must not take it for a stuck writer.
                        lock (Gate)
                        {
                            if (ReferenceEquals(_windowWaiter, waiter))
                            {
                                _windowWaiter = null;
                            }
                        }
                        throw;
                    }
                }
            }
            while (offset < data.Length);
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Half-closes after any write in progress: sends FIN; the peer's direction stays open. Idempotent.</summary>
    public async ValueTask CloseWriteAsync(CancellationToken cancellationToken = default)
    {
        var writeLock = WriteLock;
        await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            CloseWrite();
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Half-closes now: sends FIN. Call it when no write is in progress (or use <see cref="CloseWriteAsync"/>).</summary>
    public void CloseWrite()
    {
        lock (Gate)
        {
            if (_writeClosed || _writeError is not null)
            {
                return;
            }
            _writeClosed = true;
            _session.Core.CloseWrite(Id);
            if (_remoteFin)
            {
                _session.ForgetLocked(this);
            }
        }
    }

    private void ThrowIfCannotWriteLocked()
    {
        if (_writeError is not null)
        {
            throw _writeError is MuxadoStreamException reset
                ? new MuxadoStreamException(Id, reset.Code, reset.ByPeer)
                : _writeError;
        }
        if (_writeClosed)
        {
            throw new InvalidOperationException($"Stream {Id} was half-closed; it cannot be written any more.");
        }
    }
}
