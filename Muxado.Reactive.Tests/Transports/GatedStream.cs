namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// A writable stream that records each write and can hold writes back until the test opens its gate, so a
/// test knows exactly which frames were queued while a write was in progress. Reads never return data.
/// </summary>
internal sealed class GatedStream : Stream
{
    private readonly object _gate = new();
    private readonly List<byte[]> _writes = [];
    private readonly TaskCompletionSource _firstWriteStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GatedStream(bool startOpen = false)
    {
        if (startOpen)
        {
            _open.SetResult();
        }
    }

    /// <summary>Makes every write fail with this exception once set.</summary>
    public Exception? FailWritesWith { get; set; }

    /// <summary>
    /// When set, a write waits for the gate even if cancelled and only then copies the caller's bytes: a connection that
    /// still reads the memory it was given after a close was asked for, until its write returns.
    /// </summary>
    public bool WritesIgnoreCancellation { get; set; }

    public bool Disposed { get; private set; }

    public Task FirstWriteStarted => _firstWriteStarted.Task;

    public byte[][] Writes
    {
        get
        {
            lock (_gate)
            {
                return [.. _writes];
            }
        }
    }

    public void Open() => _open.TrySetResult();

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _firstWriteStarted.TrySetResult();
        await (WritesIgnoreCancellation ? _open.Task : _open.Task.WaitAsync(cancellationToken));
        if (FailWritesWith is { } failure)
        {
            throw failure;
        }
        lock (_gate)
        {
            _writes.Add(buffer.ToArray());
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}
