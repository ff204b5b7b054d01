using System.Globalization;
using System.Reactive.Concurrency;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    // Room in the write queue, shared by every stream's writers (all guarded by the session lock). A stream whose write
    // finds no room queues here, and streams get room in the order they started waiting: while any waits, only the head
    // may take room. So MaxWriteQueueBytes bounds the DATA queued, and a burst of writers cannot starve an early one.
    private Queue<MuxStream>? _roomQueue;
    private bool _roomWatched;
    private bool _servingRoomQueue; // room may go to the head of the queue now
    private int _turnLeft; // while serving: room the head may still take in this turn

    /// <summary>
    /// The most room one stream takes per turn while others wait: a quarter of a default frame, so 32 bulk streams ahead
    /// of a request cost it about 512 KiB of their bytes rather than 32 times the room of a whole turn (128 KiB each).
    /// </summary>
    private const int RoomTurnBytes = 16 * 1024;
    private Action? _onRoomFreed;

    // Streams whose writes may go on once the core has finished with the current frame (their window opened).
    private List<MuxStream>? _pumpAfterFrame;

    // Write progress (see ArmWriteWatchdogLocked).
    private bool _watchdogArmed;
    private long _lastWritten;
    private TimeSpan _lastProgressAt;
    private Func<TimeSpan>? _elapsed;

    /// <summary>
    /// Bytes of DATA <paramref name="stream"/> may queue now: free room when nobody waits for room; while streams wait,
    /// room goes only through <see cref="PumpRoomQueueLocked"/>, to the head of the queue in its turn (a stream pumped for
    /// another reason, its window opening, waits for its turn like the others), and at most what is left of its turn
    /// while others wait behind it. Under the lock.
    /// </summary>
    internal int WriteRoomLocked(MuxStream stream)
    {
        bool inTurn = _servingRoomQueue && ReferenceEquals(_roomQueue!.Peek(), stream);
        if (_roomQueue is { Count: > 0 } && !inTurn)
        {
            return 0;
        }
        long free = Options.MaxWriteQueueBytes - _output.PendingBytes;
        if (inTurn && _roomQueue!.Count > 1)
        {
            free = Math.Min(free, _turnLeft);
        }
        return free <= 0 ? 0 : (int)Math.Min(free, int.MaxValue);
    }

    /// <summary><paramref name="bytes"/> of room were taken by a write; counted against the turn being served. Under the lock.</summary>
    internal void RoomTakenLocked(int bytes)
    {
        if (_servingRoomQueue)
        {
            _turnLeft -= bytes;
        }
    }

    /// <summary>Queues <paramref name="stream"/> for room (once); it is pumped when room comes, in order. Under the lock.</summary>
    internal void WaitForWriteRoomLocked(MuxStream stream)
    {
        if (!stream.RoomQueued)
        {
            stream.RoomQueued = true;
            (_roomQueue ??= new()).Enqueue(stream);
        }
        WatchRoomLocked();
        ArmWriteWatchdogLocked();
    }

    /// <summary>The core opened <paramref name="stream"/>'s window: its writes go on after the frame. Under the lock.</summary>
    internal void PumpAfterFrameLocked(MuxStream stream) => (_pumpAfterFrame ??= []).Add(stream);

    /// <summary>Runs the pumps the last frame asked for. Under the lock, after the core returned.</summary>
    private void RunPumpsAfterFrameLocked()
    {
        if (_pumpAfterFrame is not { Count: > 0 } pumps)
        {
            return;
        }
        _pumpAfterFrame = null;
        foreach (var stream in pumps)
        {
            stream.PumpLocked();
        }
    }

    /// <summary>
    /// Room came: the streams waiting for it write, in order, until it is used up. While others wait, a turn is at most
    /// <see cref="RoomTurnBytes"/>; a stream that still has more to write after its turn goes to the back of the queue
    /// (round robin with equal quanta), so a stream that starts waiting behind many bulk writers waits for a quantum of
    /// each, not for a whole queue's worth of each. Under the lock.
    /// </summary>
    private void PumpRoomQueueLocked()
    {
        while (_roomQueue is not null && _roomQueue.TryPeek(out var head))
        {
            _servingRoomQueue = true;
            _turnLeft = RoomTurnBytes;
            try
            {
                head.PumpLocked();
            }
            finally
            {
                _servingRoomQueue = false;
            }
            if (head.NeedsRoomLocked)
            {
                bool turnEnded = _roomQueue.Count > 1 && _turnLeft <= 0;
                if (_roomQueue.Count > 1)
                {
                    _roomQueue.Enqueue(_roomQueue.Dequeue());
                }
                if (!turnEnded || Options.MaxWriteQueueBytes - _output.PendingBytes <= 0)
                {
                    return; // the room is used up: the next turn comes when the queue drains
                }
                continue; // the turn ended with room left (it took a whole quantum of it): the next stream's turn
            }
            _roomQueue.Dequeue();
            head.RoomQueued = false;
        }
    }

    /// <summary>Asks the output to say when the queue is half empty (one watch at a time). Under the lock.</summary>
    private void WatchRoomLocked()
    {
        if (_roomWatched || _end is not null)
        {
            return;
        }
        _roomWatched = true;
        // The callback may come on the transport's writer, synchronously: it only takes the lock, never runs user code.
        if (!_output.WatchSpaceLocked(Options.MaxWriteQueueBytes / 2, _onRoomFreed ??= OnRoomFreed))
        {
            _roomWatched = false;
            Lock.Defer(new Deferred(OnRoomFreed)); // already there: pump after this section, not re-entrantly
        }
    }

    /// <summary>The head of the room queue may not need room any more: look again after this section. Under the lock.</summary>
    internal void RoomQueueMayMoveLocked() => Lock.Defer(new Deferred(_onRoomFreed ??= OnRoomFreed));

    private void OnRoomFreed()
    {
        using (Lock.Enter())
        {
            _roomWatched = false;
            PumpRoomQueueLocked();
            if (_roomQueue is { Count: > 0 })
            {
                WatchRoomLocked();
            }
        }
    }

    /// <summary>
    /// Starts watching the transport's progress while bytes wait for it: the session ends with
    /// <see cref="ErrorCode.WriteTimeout"/> when the transport accepts nothing for <see cref="MuxSessionOptions.WriteTimeout"/>
    /// while bytes are queued (Kestrel's MinDataRate in spirit: progress is what counts, not how long one batch takes, so
    /// a slow link that moves bytes stays up). Checked four times per timeout on the session's scheduler, with its
    /// stopwatch (so a clock change cannot fire it, and a test scheduler drives it exactly). Under the lock.
    /// </summary>
    private void ArmWriteWatchdogLocked()
    {
        if (_watchdogArmed || _end is not null)
        {
            return;
        }
        _watchdogArmed = true;
        Lock.Defer(new Deferred(StartWatchdog));
    }

    /// <summary>
    /// Takes the baseline once the lock is released, after what this section queued was handed on (a user transport's
    /// outbox flushes then): handing bytes on is not progress made while waiting.
    /// </summary>
    private void StartWatchdog()
    {
        using (Lock.Enter())
        {
            _lastWritten = _output.BytesWritten;
            _lastProgressAt = (_elapsed ??= StartClock())();
            Lock.Defer(new Deferred(ScheduleWatchdogCheck));
        }
    }

    /// <summary>
    /// Elapsed time on the session's scheduler: its stopwatch where it has one (immune to clock changes; virtual on a
    /// test scheduler), else the difference of its <see cref="IScheduler.Now"/>.
    /// </summary>
    private Func<TimeSpan> StartClock()
    {
        if (Scheduler.AsStopwatchProvider() is { } provider)
        {
            var stopwatch = provider.StartStopwatch();
            return () => stopwatch.Elapsed;
        }
        var start = Scheduler.Now;
        return () => Scheduler.Now - start;
    }

    /// <summary>Time elapsed on the session's clock (see <see cref="StartClock"/>), for measuring waits. Under the lock.</summary>
    internal TimeSpan ElapsedLocked => (_elapsed ??= StartClock())();

    private void ScheduleWatchdogCheck() => Scheduler.Schedule(Options.WriteTimeout / 4, CheckWriteProgress);

    private void CheckWriteProgress()
    {
        SessionFault? fault = null;
        _output.RefreshCounters(); // outside the lock: a transport of the user's counts its own bytes
        using (Lock.Enter())
        {
            if (_end is not null)
            {
                _watchdogArmed = false;
                return;
            }
            long written = _output.BytesWritten;
            long pending = _output.PendingBytes;
            var now = _elapsed!();
            if (written != _lastWritten || pending == 0)
            {
                _lastWritten = written;
                _lastProgressAt = now;
            }
            if (pending > 0 && now - _lastProgressAt >= Options.WriteTimeout)
            {
                fault = Core.Fail(ErrorCode.WriteTimeout, string.Create(CultureInfo.InvariantCulture,
                    $"the transport accepted no bytes for {Options.WriteTimeout.TotalSeconds:0.###} s while {pending} bytes waited to be written"));
                Telemetry.WriteTimeoutLocked(Options.WriteTimeout, pending);
            }
            else if (pending > 0 || _roomQueue is { Count: > 0 })
            {
                Lock.Defer(new Deferred(ScheduleWatchdogCheck));
            }
            else
            {
                _watchdogArmed = false;
            }
        }
        if (fault is not null)
        {
            Fault(fault);
        }
    }

    /// <summary>An action of the session's own to run after the lock is released.</summary>
    private sealed class Deferred(Action action) : IDeferredWork
    {
        public void Run() => action();
    }
}
