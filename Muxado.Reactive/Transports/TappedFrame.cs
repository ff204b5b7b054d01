using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>Which way a tapped frame went.</summary>
public enum FrameDirection
{
    /// <summary>Read from the wire (the transport's <see cref="FrameTransport.Inbound"/>).</summary>
    Inbound,

    /// <summary>Written to the wire (the transport's <see cref="FrameTransport.Outbound"/>).</summary>
    Outbound,
}

/// <summary>A frame seen by a tap (<see cref="FrameTap.Tap"/>): its direction, the frame, and when it passed.</summary>
/// <param name="Direction">In or out.</param>
/// <param name="Frame">The frame, with a payload of its own: the tap copied it, so it may be kept.</param>
/// <param name="At">The tap's scheduler's <see cref="System.Reactive.Concurrency.IScheduler.Now"/> when the frame passed the tap.</param>
public readonly record struct TappedFrame(FrameDirection Direction, Frame Frame, DateTimeOffset At)
{
    /// <summary>One line, as <see cref="FrameFormatter.Format(TappedFrame)"/> writes it: <c>-&gt; DATA[3] FIN len=5</c>.</summary>
    public override string ToString() => FrameFormatter.Format(this);
}
