using System.Diagnostics.Metrics;
using System.Reactive.Concurrency;
using Microsoft.Extensions.Logging;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive;

/// <summary>
/// Settings of a <see cref="MuxSession"/> (a record: derive variants with <c>with</c>). Every bound of PROTOCOL.md ("Limits Go does not have and we do")
/// is here with a default that an honest Go peer never hits. Validated when the session is created.
/// </summary>
public sealed record MuxSessionOptions
{
    /// <summary>Per-stream receive window in bytes, the same on both peers (no negotiation). Default 256 KiB, as Go.</summary>
    /// <remarks>
    /// A peer that sends beyond a stream's window (or a DATA frame longer than the window, whose payload is then
    /// drained unread) gets that stream reset with RST FlowControlError; the session and its other streams go on.
    /// </remarks>
    public int WindowSize { get; init; } = 256 * 1024;

    /// <summary>
    /// Streams opened by the peer and not yet accepted. Default 128, as Go.
    /// </summary>
    /// <remarks>
    /// When it is reached, a new stream is answered with RST AcceptQueueFull and forgotten (its id counts as used,
    /// its payload is dropped, later DATA on it is dropped silently); the refusal costs reply budget (see
    /// <see cref="ReplyBudgetBurst"/>). The streams already waiting are untouched.
    /// </remarks>
    public int AcceptBacklog { get; init; } = 128;

    /// <summary>Concurrent streams the peer may have open. Default 1024.</summary>
    /// <remarks>
    /// A stream counts from its SYN until it is finished, reset or closed by the application. When the limit is
    /// reached, a new stream is answered with RST StreamRefused and forgotten, as for <see cref="AcceptBacklog"/>.
    /// <see cref="MaxBufferedBytes"/> may refuse streams before this limit: the effective limit is the smaller of
    /// this and <c>MaxBufferedBytes / WindowSize</c>. Streams this side opens are not counted: the application's own
    /// opens bound them.
    /// </remarks>
    public int MaxIncomingStreams { get; init; } = 1024;

    /// <summary>
    /// Receive windows the session commits to streams the peer opened, in bytes: a stream is admitted only if
    /// (open peer streams + 1) × <see cref="WindowSize"/> stays within it. Default 256 MiB, that is the default
    /// <see cref="MaxIncomingStreams"/> (1024) × the default <see cref="WindowSize"/> (256 KiB).
    /// </summary>
    /// <remarks>
    /// <para>It bounds the memory a peer can make the session hold without ever breaking a rule: each stream may
    /// buffer up to its window unread, and an honest peer may fill every window it has. So the check is made when
    /// a stream is opened (the SYN beyond it is answered with RST StreamRefused and forgotten, as for
    /// <see cref="MaxIncomingStreams"/>), never when data arrives: a peer that keeps within each stream's window
    /// never has a stream reset. Only a peer that sends beyond a stream's window gets RST FlowControlError.</para>
    /// <para>Below <c>MaxIncomingStreams × WindowSize</c> this is the binding limit: streams beyond
    /// <c>MaxBufferedBytes / WindowSize</c> are refused. Raising <see cref="WindowSize"/> without raising this
    /// lowers the number of peer streams accepted. Streams this side opens are not counted: the application's own
    /// opens bound them (each may hold up to a window unread). Must be at least one window.</para>
    /// </remarks>
    public long MaxBufferedBytes { get; init; } = 1024L * 256 * 1024;

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

    /// <summary>
    /// The reply budget's burst: how many frames that force a reply or cost work for nothing the peer may send at
    /// once before the session ends with GOAWAY EnhanceYourCalm. Default 300.
    /// </summary>
    /// <remarks>
    /// <para>Charged: DATA on a stream that does not exist (answered with RST StreamClosed), an RST that answers
    /// nothing we did (on an unknown stream, or on a stream the peer opened and we never wrote to: the Rapid Reset
    /// shape), resets the peer makes us send by breaking a rule (window overflow, data after FIN: MadeYouReset),
    /// empty DATA without SYN or FIN, unknown frame types, and every GOAWAY after the first.
    /// Free: DATA that races an RST or a close of ours, repeated empty FINs, RSTs on streams we opened or wrote
    /// to (Go only ever resets in answer to our frames), WNDINC on finished streams, and SYNs we refuse (backlog full,
    /// too many streams, after our GOAWAY): an honest peer opens faster than its application accepts, and a refusal
    /// costs the peer an id and a frame of its own, so it amplifies nothing.</para>
    /// <para>A token bucket: it holds this many tokens, each charged frame takes one, and
    /// <see cref="ReplyBudgetPerSecond"/> come back every second. A flood therefore gets at most
    /// <c>burst + perSecond × t</c> answers in <c>t</c> seconds, then the session ends. These are the HTTP/2 floods
    /// of the 2019 advisories (CVE-2019-9512 ping, CVE-2019-9514 reset, CVE-2019-9515 settings, CVE-2019-9518
    /// empty frames), Rapid Reset (CVE-2023-44487) and MadeYouReset (CVE-2025-8671) on muxado's frames. For
    /// comparison, Kestrel (ASP.NET Core) aborts an HTTP/2 connection with ENHANCE_YOUR_CALM once more than 100
    /// streams (20 per second, counted over a 5-second window) are opened while it still tracks more than 200 (twice
    /// its default of 100 concurrent streams).</para>
    /// <para>300 lets an honest peer's worst burst through (a burst of DATA racing our resets) while a flood ends after
    /// a few hundred replies.</para>
    /// </remarks>
    public int ReplyBudgetBurst { get; init; } = 300;

    /// <summary>
    /// The reply budget's refill: charged frames a peer may send per second for ever without ending the session.
    /// Default 100. 0 means never: <see cref="ReplyBudgetBurst"/> is all a session gets.
    /// </summary>
    /// <remarks>
    /// An honest Go peer sends none of the charged frames in normal operation (see <see cref="ReplyBudgetBurst"/>):
    /// the rate is for what honest peers do under load, such as cancelling streams before the other side wrote
    /// (<see cref="MuxStream.Reset"/> of this library) or opening faster than the application accepts. 100 per
    /// second is five times Kestrel's sustained allowance (20 per second), while a flooder gets no more than 100
    /// replies a second, about a kilobyte of RST frames.
    /// </remarks>
    public int ReplyBudgetPerSecond { get; init; } = 100;

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

    /// <summary>
    /// Where the session writes its log events (category <c>Muxado.Reactive.MuxSession</c>). Default null: the session
    /// logs nothing and prepares nothing to log.
    /// </summary>
    /// <remarks>
    /// The events and their ids are listed in the README ("Logs, metrics and statistics"). None is per DATA frame. Loggers
    /// are called after the session's lock is released, never under it, on whichever thread made the event happen (the
    /// transport's reader, a writer, a timer of <see cref="Scheduler"/>); the session never disposes the factory.
    /// </remarks>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Where the session's meter comes from (name <c>Muxado.Reactive</c>), typically the application's
    /// <see cref="IMeterFactory"/> from dependency injection. Default null: the library's one static meter of that name,
    /// shared by every such session.
    /// </summary>
    /// <remarks>
    /// The instruments are listed in the README ("Logs, metrics and statistics"). Sessions given the same factory share
    /// its meter and instruments; the factory owns the meter (disposing the factory ends the measurements). Measurements
    /// are made after the session's lock is released, and nothing is tallied for instruments nobody listens to.
    /// </remarks>
    public IMeterFactory? MeterFactory { get; init; }

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
        Require(MaxBufferedBytes >= WindowSize, nameof(MaxBufferedBytes), MaxBufferedBytes, "must be at least one window (WindowSize)");
        // At least 4: a typed stream's type must fit one frame (Go's acceptor reads it with a single Read).
        Require(MaxFramePayload is >= 4 and <= Frame.MaxBodyLength, nameof(MaxFramePayload), MaxFramePayload, "must be 4..16 MiB-1");
        Require(MaxDebugTextLength >= 0, nameof(MaxDebugTextLength), MaxDebugTextLength, "must not be negative");
        Require(GoAwayLinger >= TimeSpan.Zero, nameof(GoAwayLinger), GoAwayLinger, "must not be negative");
        Require(WriteTimeout > TimeSpan.Zero, nameof(WriteTimeout), WriteTimeout, "must be positive");
        Require(MaxWriteQueueBytes >= 1024, nameof(MaxWriteQueueBytes), MaxWriteQueueBytes, "must be at least 1 KiB (a few frames)");
        Require(ReplyBudgetBurst >= 1, nameof(ReplyBudgetBurst), ReplyBudgetBurst, "must be at least 1");
        Require(ReplyBudgetPerSecond >= 0, nameof(ReplyBudgetPerSecond), ReplyBudgetPerSecond, "must not be negative");
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
