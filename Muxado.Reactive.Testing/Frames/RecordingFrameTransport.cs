using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Testing;

/// <summary>
/// A transport that passes everything to another one and records every frame written to it, with its virtual time:
/// put it between a session and its transport to see what the session wrote.
/// </summary>
/// <remarks>
/// The inner transport's write queue (<see cref="FrameTransport.PendingWriteBytes"/>,
/// <see cref="FrameTransport.WaitForWriteSpaceAsync"/>) shows through, so the session's back-pressure behaves as
/// it would on the inner transport alone. Disposing disposes the inner transport.
/// </remarks>
public sealed class RecordingFrameTransport : FrameTransport
{
    private readonly FrameTransport _inner;
    private readonly TestScheduler _clock;
    private readonly Tee _outbound;

    /// <summary>Records the frames written to <paramref name="inner"/> with <paramref name="clock"/>'s time.</summary>
    public RecordingFrameTransport(FrameTransport inner, TestScheduler clock)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(clock);
        _inner = inner;
        _clock = clock;
        Written = new FrameRecorder(clock);
        _outbound = new Tee(Written, inner.Outbound);
    }

    /// <summary>Every frame written, with its virtual time, and the outbound end (completion or error).</summary>
    public FrameRecorder Written { get; }

    /// <summary>The virtual time at which the transport was first disposed, or null while it is open.</summary>
    public long? DisposedAt { get; private set; }

    /// <inheritdoc />
    public override IObservable<Frame> Inbound => _inner.Inbound;

    /// <inheritdoc />
    public override IObserver<Frame> Outbound => _outbound;

    /// <inheritdoc />
    public override long PendingWriteBytes => _inner.PendingWriteBytes;

    /// <inheritdoc />
    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default) =>
        _inner.WaitForWriteSpaceAsync(threshold, cancellationToken);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        DisposedAt ??= _clock.Clock;
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Records, then forwards; the record comes first so that it is in order even if forwarding throws.</summary>
    private sealed class Tee(FrameRecorder recorder, IObserver<Frame> inner) : IObserver<Frame>
    {
        public void OnNext(Frame value)
        {
            recorder.OnNext(value);
            inner.OnNext(value);
        }

        public void OnError(Exception error)
        {
            recorder.OnError(error);
            inner.OnError(error);
        }

        public void OnCompleted()
        {
            recorder.OnCompleted();
            inner.OnCompleted();
        }
    }
}
