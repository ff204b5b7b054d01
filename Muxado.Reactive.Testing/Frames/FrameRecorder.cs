using System.Reactive;
using Microsoft.Reactive.Testing;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing;

/// <summary>
/// An observer of frames that records each one with the virtual time it arrived, copying its payload: what a
/// session wrote, ready for <see cref="FrameMarbles.ExpectFrames"/> or Microsoft.Reactive.Testing's assertions.
/// </summary>
/// <remarks>
/// <para>A transport's writer may reuse a frame's buffer once <c>OnNext</c> returns (the
/// <see cref="Transports.FrameTransport.Outbound"/> contract), so a recorder that kept the frame as it came would
/// later show other bytes; this one keeps a copy. It records everything, even after a terminal notification, so a
/// test can catch a writer that breaks the Rx grammar. Safe to call from several threads.</para>
/// <para><see cref="TakeNew"/> hands out the frames recorded since its last call, for tests in the style of
/// python-hyper/h2 that check the exact frames written in answer to each input.</para>
/// </remarks>
public sealed class FrameRecorder : ITestableObserver<Frame>
{
    private readonly TestScheduler _clock;
    private readonly List<Recorded<Notification<Frame>>> _messages = [];
    private int _taken;

    /// <summary>A recorder stamping notifications with the virtual time of <paramref name="clock"/>.</summary>
    public FrameRecorder(TestScheduler clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
    }

    /// <summary>Everything recorded, in arrival order (a snapshot).</summary>
    public IList<Recorded<Notification<Frame>>> Messages
    {
        get
        {
            lock (_messages)
            {
                return _messages.ToList();
            }
        }
    }

    /// <summary>The frames recorded (OnNext values only), in arrival order.</summary>
    public IReadOnlyList<Frame> Frames
    {
        get
        {
            lock (_messages)
            {
                return _messages.Where(m => m.Value.Kind == NotificationKind.OnNext).Select(m => m.Value.Value).ToList();
            }
        }
    }

    /// <summary>True once <see cref="OnCompleted"/> or <see cref="OnError"/> was recorded.</summary>
    public bool IsTerminated
    {
        get
        {
            lock (_messages)
            {
                return _messages.Any(m => m.Value.Kind != NotificationKind.OnNext);
            }
        }
    }

    /// <summary>The frames recorded since the previous call (OnNext values only).</summary>
    public IReadOnlyList<Frame> TakeNew()
    {
        lock (_messages)
        {
            var fresh = _messages.Skip(_taken).Where(m => m.Value.Kind == NotificationKind.OnNext).Select(m => m.Value.Value).ToList();
            _taken = _messages.Count;
            return fresh;
        }
    }

    /// <summary>Records a copy of <paramref name="value"/> at the current virtual time.</summary>
    public void OnNext(Frame value) => Add(Notification.CreateOnNext(Copy(value)));

    /// <summary>Records the error at the current virtual time.</summary>
    public void OnError(Exception error) => Add(Notification.CreateOnError<Frame>(error));

    /// <summary>Records the completion at the current virtual time.</summary>
    public void OnCompleted() => Add(Notification.CreateOnCompleted<Frame>());

    /// <summary>The same frame with a payload of its own.</summary>
    internal static Frame Copy(Frame frame)
    {
        if (frame.Payload.IsEmpty || frame.IsTruncated)
        {
            return frame;
        }
        var payload = frame.Payload.ToArray();
        return frame.Type switch
        {
            FrameType.Data => Frame.Data(frame.StreamId, payload, frame.Flags),
            FrameType.GoAway => Frame.GoAway(frame.LastStreamId, frame.ErrorCode, payload),
            FrameType.Rst or FrameType.WndInc => frame,
            _ => Frame.Unknown((byte)frame.Type, frame.Flags, frame.StreamId, payload),
        };
    }

    private void Add(Notification<Frame> notification)
    {
        lock (_messages)
        {
            _messages.Add(new Recorded<Notification<Frame>>(_clock.Clock, notification));
        }
    }
}
