using System.Reactive;
using System.Reactive.Subjects;
using Muxado.Reactive.Frames;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Testing;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// A transport whose write queue the test controls: <see cref="Pending"/> bytes stay unwritten until
/// <see cref="Drain"/>. Records what the session writes and when it closes the transport (virtual time).
/// </summary>
internal sealed class ManualTransport(TestScheduler scheduler) : FrameTransport
{
    private readonly List<TaskCompletionSource> _spaceWaiters = [];
    private IObserver<Frame>? _outbound;

    public Subject<Frame> Peer { get; } = new();
    public List<Frame> Written { get; } = [];
    public bool OutboundCompleted { get; private set; }
    public long? DisposedAt { get; private set; }
    public int DisposeCount { get; private set; }
    public long Pending { get; set; }

    public override IObservable<Frame> Inbound => Peer;

    public override IObserver<Frame> Outbound => _outbound ??= Observer.Create<Frame>(
        f => Written.Add(f.Type == FrameType.Data ? Frame.Data(f.StreamId, f.Payload.ToArray(), f.Flags) : f),
        _ => { },
        () => OutboundCompleted = true);

    public override long PendingWriteBytes => Pending;

    public override ValueTask WaitForWriteSpaceAsync(long threshold, CancellationToken cancellationToken = default)
    {
        if (Pending <= threshold)
        {
            return default;
        }
        var space = new TaskCompletionSource();
        _spaceWaiters.Add(space);
        cancellationToken.Register(() => space.TrySetCanceled(cancellationToken));
        return new ValueTask(space.Task);
    }

    public void Drain()
    {
        Pending = 0;
        foreach (var space in _spaceWaiters)
        {
            space.TrySetResult();
        }
        _spaceWaiters.Clear();
    }

    public override ValueTask DisposeAsync()
    {
        DisposedAt ??= scheduler.Clock;
        DisposeCount++;
        return base.DisposeAsync();
    }
}
