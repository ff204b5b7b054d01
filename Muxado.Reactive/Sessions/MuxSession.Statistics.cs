using System.Reactive.Linq;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    /// <summary>A snapshot of the session's counters now (streams, buffered and queued bytes, traffic).</summary>
    /// <remarks>Cheap (the counters are kept whether or not anyone reads them) and safe on any thread. After the end,
    /// the traffic totals stay as they were and no stream is open.</remarks>
    public SessionStatistics Statistics
    {
        get
        {
            using (Lock.Enter())
            {
                var t = Telemetry;
                return new SessionStatistics(_live?.Count ?? 0, t.StreamsOpened, t.StreamsAccepted, Core.BufferedBytes,
                    _output.PendingBytes, t.BytesSent, t.BytesReceived, t.FramesSent, t.FramesReceived);
            }
        }
    }

    /// <summary>
    /// A snapshot of <see cref="Statistics"/> every <paramref name="period"/>, on <see cref="MuxSessionOptions.Scheduler"/>;
    /// completes when the session ends (after a last snapshot taken at the end). Cold: each subscriber gets its own timer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is not positive.</exception>
    public IObservable<SessionStatistics> StatisticsEvery(TimeSpan period)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        var ended = Ended;
        return Observable.Interval(period, Scheduler)
            .Select(_ => Statistics)
            .TakeUntil(ended)
            .Concat(Observable.Defer(() => Observable.Return(Statistics, Scheduler)));
    }
}
