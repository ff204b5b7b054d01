using System.Globalization;
using System.Reactive.Concurrency;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    // Room in the write queue, shared by every stream's writers (all guarded by the session lock). A stream whose write
    // finds no room waits for a turn (WriteRoomTurns): while any waits, only the stream in its turn may take room. So
    // MaxWriteQueueBytes bounds the DATA queued, and a burst of writers cannot starve an early one.
    private WriteRoomTurns? _roomTurns; // made when a stream first waits: an idle session has none
    private bool _roomWatched; // the output holds the session's watch on its queue, and will call OnRoomFreed once
    private bool _roomLookDeferred; // a look at the turns (LookAtRoom) is deferred to the end of the section
    private Func<long>? _roomLeft;
    private Action? _onRoomFreed;
    private Deferred? _lookAtRoom;

    // Streams whose writes may go on once the core has finished with the current frame (their window opened).
    private List<MuxStream>? _pumpAfterFrame;

    // Write progress (see ArmWriteWatchdogLocked).
    private bool _watchdogArmed;
    private long _lastWritten;
    private TimeSpan _lastProgressAt;
    private Func<TimeSpan>? _elapsed;

    /// <summary>
    /// Bytes of DATA <paramref name="stream"/> may queue now: free room when nobody waits for room; while streams wait,
    /// room goes only through <see cref="ServeRoomLocked"/>, to the stream in its turn (a stream pumped for another
    /// reason, its window opening, waits for its turn like the others). Under the lock.
    /// </summary>
    internal int WriteRoomLocked(MuxStream stream)
    {
        long free = FreeRoomLocked;
        if (_roomTurns is not null)
        {
            free = _roomTurns.RoomFor(stream, free);
        }
        return free <= 0 ? 0 : (int)Math.Min(free, int.MaxValue);
    }

    /// <summary><paramref name="bytes"/> of room were taken by a write; counted against the turn being served. Under the lock.</summary>
    internal void RoomTakenLocked(int bytes) => _roomTurns?.Taken(bytes);

    /// <summary>
    /// Queues <paramref name="stream"/> for room (once), for a write of which <paramref name="wanted"/> bytes are left; it
    /// is pumped in its turn when room comes. Under the lock.
    /// </summary>
    internal void WaitForWriteRoomLocked(MuxStream stream, int wanted)
    {
        (_roomTurns ??= new()).Wait(stream, wanted);
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

    /// <summary>Room in the write queue below <see cref="MuxSessionOptions.MaxWriteQueueBytes"/>, whoever may take it. Under the lock.</summary>
    private long FreeRoomLocked => Options.MaxWriteQueueBytes - _output.PendingBytes;

    /// <summary>Asks the output to say when the queue is half empty (one watch at a time). Under the lock.</summary>
    private void WatchRoomLocked()
    {
        if (_roomWatched || _end is not null)
        {
            return;
        }
        // The callback may come on the transport's writer, synchronously: it only takes the lock, never runs user code.
        // (Marked watched first: a callback that ran before WatchSpaceLocked returned must leave the mark cleared.)
        _roomWatched = true;
        long threshold = Options.MaxWriteQueueBytes / 2;
        if (_output.WatchSpaceLocked(threshold, _onRoomFreed ??= OnRoomFreed))
        {
            return;
        }
        _roomWatched = false;
        if (_output.PendingBytes <= threshold)
        {
            LookAtRoomLaterLocked(); // already there: pump after this section, not re-entrantly
        }
        // Else the output is closed with a backlog it will never write (a user's transport that threw): no room will
        // come, and looking again at once would look for ever, each look inside the last one's release of the lock. The
        // session is ending (or its write watchdog ends it), and its end fails the writes that wait.
    }

    /// <summary>The head of the room queue may not need room any more: look again after this section. Under the lock.</summary>
    internal void RoomQueueMayMoveLocked() => LookAtRoomLaterLocked();

    /// <summary>
    /// Defers one look at the turns (however many ask for it in a section: a turn that ends with room left asks each
    /// time). Not a watch: the output's watch, if one is registered, stays registered and still counts. Under the lock.
    /// </summary>
    private void LookAtRoomLaterLocked()
    {
        if (!_roomLookDeferred)
        {
            _roomLookDeferred = true;
            Lock.Defer(_lookAtRoom ??= new Deferred(LookAtRoom));
        }
    }

    /// <summary>The output's watch fired (and is spent): room came.</summary>
    private void OnRoomFreed()
    {
        using (Lock.Enter())
        {
            _roomWatched = false;
            ServeRoomLocked();
        }
    }

    /// <summary>
    /// A deferred look at the turns. It leaves a registered watch alone: registering another at each look piled them up
    /// on the transport (hundreds a second under bulk writers), which then called back as many times per drain.
    /// </summary>
    private void LookAtRoom()
    {
        using (Lock.Enter())
        {
            _roomLookDeferred = false;
            ServeRoomLocked();
        }
    }

    /// <summary>
    /// Room came: the streams waiting for it write in their turns until it is used up; then the queue is watched while
    /// streams still wait. Under the lock.
    /// </summary>
    private void ServeRoomLocked()
    {
        _roomTurns?.Serve(_roomLeft ??= () => FreeRoomLocked);
        if (_roomTurns is { AnyWaiting: true })
        {
            WatchRoomLocked();
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
            else if (pending > 0 || _roomTurns is { AnyWaiting: true })
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
