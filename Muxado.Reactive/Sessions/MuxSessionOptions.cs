using System.Reactive.Concurrency;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive;

/// <summary>
/// Settings of a <see cref="MuxSession"/> (a record: derive variants with <c>with</c>). Every bound of PROTOCOL.md ("Limits Go does not have and we do")
/// is here with a default that an honest Go peer never hits. Validated when the session is created.
/// </summary>
public sealed record MuxSessionOptions
{
    /// <summary>Per-stream receive window in bytes, the same on both peers (no negotiation). Default 256 KiB, as Go.</summary>
    public int WindowSize { get; init; } = 256 * 1024;

    /// <summary>Streams opened by the peer and not yet accepted; beyond, RST AcceptQueueFull. Default 128, as Go.</summary>
    public int AcceptBacklog { get; init; } = 128;

    /// <summary>Concurrent streams the peer may have open; beyond, RST StreamRefused. Default 1024.</summary>
    public int MaxIncomingStreams { get; init; } = 1024;

    /// <summary>Bytes buffered and unread across all streams of the session. Default 64 MiB.</summary>
    public long MaxBufferedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest DATA payload this side puts in one frame. Default 64 KiB; never above the window.</summary>
    public int MaxFramePayload { get; init; } = 64 * 1024;

    /// <summary>GOAWAY debug bytes kept from the peer (the rest is drained). Default 1 KiB.</summary>
    public int MaxDebugTextLength { get; init; } = 1024;

    /// <summary>
    /// Open streams with an empty DATA|SYN frame and send data in later frames (PROTOCOL.md, "Talking to
    /// Go peers safely"). Default true; turning it off saves a frame per stream with non-Go peers.
    /// </summary>
    public bool OpenWithEmptySyn { get; init; } = true;

    /// <summary>How long a session that ends with an error waits for its GOAWAY to be written. Default 250 ms.</summary>
    public TimeSpan GoAwayLinger { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long writers may wait on a transport that accepts no bytes before the session ends with WriteTimeout. Default 10 s.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Bytes queued for the transport above which DATA waits (control frames never wait). Default 256 KiB, one
    /// default window: more only grows the write buffers (64 streams of small writes peaked about 9 MiB higher with
    /// 1 MiB) without making one stream faster, since a stream never has more than its window in flight.
    /// </summary>
    public long MaxWriteQueueBytes { get; init; } = 256 * 1024;

    /// <summary>Frames that force a reply (DATA on unknown streams, RSTs, empty and unknown frames) allowed per <see cref="ReplyBudgetWindow"/>; beyond, GOAWAY EnhanceYourCalm. Default 10,000.</summary>
    public int ReplyFrameBudget { get; init; } = 10_000;

    /// <summary>The window over which <see cref="ReplyFrameBudget"/> counts. Default 1 s.</summary>
    public TimeSpan ReplyBudgetWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Where the session delivers data, streams and completions to user code and runs its timers. Default
    /// <see cref="MuxSchedulers.Delivery"/>; an <c>EventLoopScheduler</c> or a UI dispatcher's scheduler keeps every
    /// delivery on one thread; a test passes a virtual-time scheduler (Microsoft.Reactive.Testing's <c>TestScheduler</c>).
    /// </summary>
    /// <remarks>
    /// Schedulers that run work inline (<see cref="ImmediateScheduler"/>, <see cref="CurrentThreadScheduler"/>) are refused
    /// by <see cref="Validate"/>: they would run subscribers on the transport's reader, and they block the calling thread
    /// until a timer is due. <see cref="ThreadPoolScheduler"/> works, but a subscriber that blocks there holds a .NET pool
    /// thread that the transport's own loops need (see <see cref="MuxSchedulers.Delivery"/>).
    /// </remarks>
    public IScheduler Scheduler { get; init; } = MuxSchedulers.Delivery;

    /// <summary>
    /// How long a typed stream's opener has to send its 4-byte type once the stream arrived, when streams are accepted as
    /// typed streams (<see cref="MuxSession.AcceptTypedAsync"/>, <see cref="MuxSession.IncomingTyped"/>); a stream whose
    /// type does not come in time is reset with <see cref="ErrorCode.StreamCancelled"/>. Default 10 s: an honest opener
    /// (Go's included) sends the type as its first frame.
    /// </summary>
    public TimeSpan TypeReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Answer heartbeat streams (typed streams of type 0xFFFFFFFF) and hide them from the application when
    /// streams are accepted as typed streams (<see cref="MuxSession.AcceptTypedAsync"/>, <see cref="MuxSession.IncomingTyped"/>).
    /// Default true. Untyped accepting hands every stream to the application as it is.
    /// </summary>
    public bool RespondToHeartbeats { get; init; } = true;

    /// <summary>The defaults.</summary>
    public static MuxSessionOptions Default { get; } = new();

    /// <summary>The limits the frame reader applies for this session.</summary>
    public FrameReaderLimits ReaderLimits => new(WindowSize, MaxDebugTextLength, 1024);

    /// <summary>Checks every setting; throws <see cref="ArgumentOutOfRangeException"/> naming the bad one.</summary>
    public MuxSessionOptions Validate()
    {
        Require(WindowSize is >= 1024 and <= Frame.MaxBodyLength, nameof(WindowSize), WindowSize, "must be 1 KiB..16 MiB-1");
        Require(AcceptBacklog >= 1, nameof(AcceptBacklog), AcceptBacklog, "must be at least 1");
        Require(MaxIncomingStreams >= 1, nameof(MaxIncomingStreams), MaxIncomingStreams, "must be at least 1");
        Require(MaxBufferedBytes >= WindowSize, nameof(MaxBufferedBytes), MaxBufferedBytes, "must be at least the window");
        Require(MaxFramePayload is >= 1 and <= Frame.MaxBodyLength, nameof(MaxFramePayload), MaxFramePayload, "must be 1..16 MiB-1");
        Require(MaxDebugTextLength >= 0, nameof(MaxDebugTextLength), MaxDebugTextLength, "must not be negative");
        Require(GoAwayLinger >= TimeSpan.Zero, nameof(GoAwayLinger), GoAwayLinger, "must not be negative");
        Require(WriteTimeout > TimeSpan.Zero, nameof(WriteTimeout), WriteTimeout, "must be positive");
        Require(MaxWriteQueueBytes >= 1, nameof(MaxWriteQueueBytes), MaxWriteQueueBytes, "must be at least 1");
        Require(ReplyFrameBudget >= 1, nameof(ReplyFrameBudget), ReplyFrameBudget, "must be at least 1");
        Require(ReplyBudgetWindow > TimeSpan.Zero, nameof(ReplyBudgetWindow), ReplyBudgetWindow, "must be positive");
        Require(TypeReadTimeout > TimeSpan.Zero, nameof(TypeReadTimeout), TypeReadTimeout, "must be positive");
        ArgumentNullException.ThrowIfNull(Scheduler, nameof(Scheduler));
        if (Scheduler is ImmediateScheduler or CurrentThreadScheduler)
        {
            throw new ArgumentException(
                $"MuxSessionOptions.Scheduler cannot be {Scheduler.GetType().Name}: it runs work inline, so subscribers would run on the " +
                "transport's reader and every timer would block the thread that set it. Use MuxSchedulers.Delivery (the default), an " +
                "EventLoopScheduler, a SynchronizationContextScheduler or a test scheduler.", nameof(Scheduler));
        }
        return this;
    }

    private static void Require(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"MuxSessionOptions.{name} {rule}.");
        }
    }
}
