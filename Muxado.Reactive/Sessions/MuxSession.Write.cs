using System.Globalization;
using System.Reactive.Concurrency;
using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive;

public sealed partial class MuxSession
{
    // Room in the write queue, shared by every stream's writers (all guarded by the session lock). A writer that finds
    // no room, or finds others already waiting, queues here; room is granted to the head of the queue in full, as a
    // reservation that newcomers cannot take, so writers go in order and MaxWriteQueueBytes bounds the DATA queued.
    private Queue<RoomWaiter>? _roomWaiters;
    private long _reservedRoom;
    private int _grantsOut;
    private bool _roomWatched;
    private Action? _onRoomFreed;

    // Write progress (see ArmWriteWatchdogLocked).
    private bool _watchdogArmed;
    private long _lastWritten;
    private DateTimeOffset _lastProgressAt;

    /// <summary>
    /// Bytes of DATA the calling writer may send now: the room reserved for it when it was granted some, else free room
    /// when nobody is waiting ahead of it. Takes the grant back. Under the lock.
    /// </summary>
    internal int TakeWriteRoomLocked(RoomWaiter? granted)
    {
        long reservation = granted is { Granted: true } ? granted.Reservation : 0;
        if (granted is not null)
        {
            ReturnGrantLocked(granted);
        }
        long free = Options.MaxWriteQueueBytes - _output.PendingBytes - _reservedRoom;
        long room = reservation > 0 ? reservation : _grantsOut > 0 || HasRoomWaitersLocked ? 0 : Math.Max(0, free);
        return (int)Math.Min(room, int.MaxValue);
    }

    /// <summary>Gives back room granted to <paramref name="waiter"/> and not used (idempotent). Under the lock.</summary>
    internal void ReturnGrantLocked(RoomWaiter waiter)
    {
        if (waiter.Granted)
        {
            _reservedRoom -= waiter.Reservation;
            _grantsOut--;
            waiter.Granted = false;
            waiter.Reservation = 0;
        }
    }

    /// <summary>Queues the calling writer for room; it is woken with a reservation. Under the lock.</summary>
    internal RoomWaiter WaitForWriteRoomLocked(MuxStream stream, bool blocking)
    {
        var waiter = new RoomWaiter(stream, Waiter<bool>.Create(Scheduler, blocking));
        (_roomWaiters ??= new()).Enqueue(waiter);
        WatchRoomLocked();
        ArmWriteWatchdogLocked();
        return waiter;
    }

    /// <summary>
    /// Whatever the writer just did (sent, failed, gave up), room that is free goes to the next waiter. Under the lock;
    /// called at the end of every locked step of a write.
    /// </summary>
    internal void GrantWriteRoomLocked()
    {
        if (_grantsOut > 0 || _roomWaiters is null)
        {
            return;
        }
        long free = Options.MaxWriteQueueBytes - _output.PendingBytes - _reservedRoom;
        while (free > 0 && _roomWaiters.TryDequeue(out var next))
        {
            if (next.Waiter.CompleteLocked(Lock, true))
            {
                next.Granted = true;
                next.Reservation = free;
                _reservedRoom += free;
                _grantsOut++;
                return;
            }
        }
        if (HasRoomWaitersLocked)
        {
            WatchRoomLocked();
        }
    }

    /// <summary>A writer stopped waiting for room (cancelled): leave the queue, or pass on room granted meanwhile.</summary>
    internal void AbandonWriteRoomLocked(RoomWaiter waiter)
    {
        waiter.Waiter.AbandonLocked();
        ReturnGrantLocked(waiter);
        GrantWriteRoomLocked();
    }

    /// <summary>Fails the writers of <paramref name="stream"/> that wait for room (reset, half-closed). Under the lock.</summary>
    internal void FailWriteRoomWaitersLocked(MuxStream stream, Exception error)
    {
        if (_roomWaiters is null)
        {
            return;
        }
        foreach (var waiter in _roomWaiters)
        {
            if (ReferenceEquals(waiter.Stream, stream))
            {
                waiter.Waiter.FailLocked(Lock, error);
            }
        }
    }

    private bool HasRoomWaitersLocked
    {
        get
        {
            if (_roomWaiters is null)
            {
                return false;
            }
            // Settled waiters (failed, abandoned) leave lazily, from the head.
            while (_roomWaiters.TryPeek(out var head) && head.Waiter.IsSettled)
            {
                _roomWaiters.Dequeue();
            }
            return _roomWaiters.Count > 0;
        }
    }

    /// <summary>Asks the transport to say when the queue is half empty (one watch at a time). Under the lock.</summary>
    private void WatchRoomLocked()
    {
        if (_roomWatched || _end is not null)
        {
            return;
        }
        _roomWatched = true;
        // The callback may come on the transport's writer, synchronously: it only takes the lock, never runs user code.
        if (!_transport.WatchWriteSpace(Options.MaxWriteQueueBytes / 2, _onRoomFreed ??= OnRoomFreed))
        {
            _roomWatched = false;
            Lock.Defer(new Deferred(OnRoomFreed)); // already there: grant after this section, not re-entrantly
        }
    }

    private void OnRoomFreed()
    {
        using (Lock.Enter())
        {
            _roomWatched = false;
            GrantWriteRoomLocked();
        }
    }

    /// <summary>The session ended: every writer waiting for room fails. Under the lock.</summary>
    private void EndWritingLocked(Exception error)
    {
        if (_roomWaiters is not null)
        {
            foreach (var waiter in _roomWaiters)
            {
                waiter.Waiter.FailLocked(Lock, error);
            }
            _roomWaiters.Clear();
        }
    }

    /// <summary>
    /// Starts watching the transport's progress while bytes wait for it: the session ends with
    /// <see cref="ErrorCode.WriteTimeout"/> when the transport accepts nothing for <see cref="MuxSessionOptions.WriteTimeout"/>
    /// while bytes are queued (Kestrel's MinDataRate in spirit: progress is what counts, not how long one batch takes, so
    /// a slow link that moves bytes stays up). Checked four times per timeout on the session's scheduler. Under the lock.
    /// </summary>
    private void ArmWriteWatchdogLocked()
    {
        if (_watchdogArmed || _end is not null)
        {
            return;
        }
        _watchdogArmed = true;
        _lastWritten = _transport.BytesWritten;
        _lastProgressAt = Scheduler.Now;
        Lock.Defer(new Deferred(ScheduleWatchdogCheck));
    }

    private void ScheduleWatchdogCheck() => Scheduler.Schedule(Options.WriteTimeout / 4, CheckWriteProgress);

    private void CheckWriteProgress()
    {
        SessionFault? fault = null;
        using (Lock.Enter())
        {
            if (_end is not null)
            {
                _watchdogArmed = false;
                return;
            }
            long written = _transport.BytesWritten;
            long pending = _output.PendingBytes;
            var now = Scheduler.Now;
            if (written != _lastWritten || pending == 0)
            {
                _lastWritten = written;
                _lastProgressAt = now;
            }
            if (pending > 0 && now - _lastProgressAt >= Options.WriteTimeout)
            {
                fault = Core.Fail(ErrorCode.WriteTimeout, string.Create(CultureInfo.InvariantCulture,
                    $"the transport accepted no bytes for {Options.WriteTimeout.TotalSeconds:0.###} s while {pending} bytes waited to be written"));
            }
            else if (pending > 0 || HasRoomWaitersLocked)
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

    /// <summary>A writer waiting for room in the write queue.</summary>
    internal sealed class RoomWaiter(MuxStream stream, Waiter<bool> waiter)
    {
        public MuxStream Stream { get; } = stream;
        public Waiter<bool> Waiter { get; } = waiter;
        /// <summary>Woken with room reserved for it (under the lock).</summary>
        public bool Granted { get; set; }
        public long Reservation { get; set; }
    }

    /// <summary>An action of the session's own to run after the lock is released.</summary>
    private sealed class Deferred(Action action) : IDeferredWork
    {
        public void Run() => action();
    }
}
