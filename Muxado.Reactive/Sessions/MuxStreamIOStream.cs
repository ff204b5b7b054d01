namespace Muxado.Reactive;

/// <summary>
/// A <see cref="MuxStream"/> as a <see cref="Stream"/>, so existing .NET code (serializers, <c>CopyToAsync</c>,
/// text readers) works over it, as Go's stream works as a <c>net.Conn</c>.
/// </summary>
/// <remarks>
/// <para>Reads return 0 at the peer's FIN; a zero-byte read waits until data is available (or the end) and consumes
/// nothing, as on a socket. Writes wait for window. <see cref="Flush"/> does nothing: bytes are in the transport's queue
/// when a write returns. Disposing closes the muxado stream; afterwards every call throws
/// <see cref="ObjectDisposedException"/>.</para>
/// <para>Failures (a reset, the session's end) surface as <see cref="IOException"/> with the <see cref="MuxadoException"/>
/// as its inner exception, as .NET code expects of a stream. A write cancelled after part of it was sent resets the
/// stream with <see cref="ErrorCode.StreamCancelled"/>: a caller cannot tell how much went out, and a prefix left on the
/// wire would be read as if it were whole. The synchronous <see cref="Read(byte[], int, int)"/>,
/// <see cref="Write(byte[], int, int)"/> and <see cref="Stream.Dispose()"/> block the calling thread until done; they are
/// completed directly by the session, never through its scheduler, so calling them on the session's own (possibly
/// single-threaded) scheduler cannot deadlock.</para>
/// </remarks>
internal sealed class MuxStreamIOStream(MuxStream stream) : Stream
{
    private int _disposed;

    public override bool CanRead => !IsDisposed;
    public override bool CanWrite => !IsDisposed;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ReadOnlyMemory<byte>? chunk;
        try
        {
            chunk = stream.ReadChunk(buffer.Length);
        }
        catch (MuxadoException ex)
        {
            throw new IOException(ex.Message, ex);
        }
        return Consume(chunk, buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        try
        {
            // Blocks on the write's own task, which the session completes directly: no scheduler, no pool thread.
            stream.WriteCoreAsync(buffer.AsMemory(offset, count), blocking: true, whole: false, resetIfCancelledPartWay: true, CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
        }
        catch (MuxadoException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

    public override void Flush() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return Task.CompletedTask;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await stream.CloseAsync(blocking: false).ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            stream.CloseAsync(blocking: true).AsTask().GetAwaiter().GetResult();
        }
        base.Dispose(disposing);
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ReadOnlyMemory<byte>? chunk;
        try
        {
            chunk = await stream.ReadChunkAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
        }
        catch (MuxadoException ex)
        {
            throw new IOException(ex.Message, ex);
        }
        return Consume(chunk, buffer.Span);
    }

    /// <summary>Copies what a read got and credits it; 0 at the end of the stream (or for a zero-byte read).</summary>
    private int Consume(ReadOnlyMemory<byte>? chunk, Span<byte> buffer)
    {
        if (chunk is not { } data)
        {
            return 0;
        }
        data.Span.CopyTo(buffer);
        stream.ReportConsumed(data.Length);
        return data.Length;
    }

    private async ValueTask WriteCoreAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        try
        {
            await stream.WriteCoreAsync(buffer, blocking: false, whole: false, resetIfCancelledPartWay: true, cancellationToken).ConfigureAwait(false);
        }
        catch (MuxadoException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }
}
