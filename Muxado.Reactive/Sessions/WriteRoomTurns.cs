namespace Muxado.Reactive;

/// <summary>
/// Who gets room in the session's write queue while streams wait for it: turns of at most <see cref="TurnBytes"/>, round
/// robin, with short writes served first. Guarded by the session lock (no locking of its own).
/// </summary>
/// <remarks>
/// <para>Two lists, as a fair queue's "new" and "old" flows: a stream that starts waiting with a short write (at most
/// <see cref="ShortWriteBytes"/>: a request, a reply, a heartbeat echo) joins the short list; any other joins the bulk
/// list. When room comes, the short list is served first, so a request beside 32 bulk streams waits for the next room
/// rather than for a turn of each of them. A short turn is <see cref="ShortWriteBytes"/>, room for the short piece; a
/// short stream that still needs room after its whole turn moves to the back of the bulk list: it is writing more than
/// a short piece and takes turns like the others.</para>
/// <para>A short piece that the room cuts short stays at the head of the short list, and goes on first at the next
/// room. The short list cannot starve the bulk list: it gets <see cref="TurnBytes"/> of room (counted across wake-ups,
/// which may each bring less; the piece that begins in it may end past it), then a bulk stream gets its turn, then the
/// short list again, and so on. (With 200 streams of 1 KiB pieces beside one bulk stream, the bulk stream got its
/// 256 KiB out while 256 KiB of short pieces went, against none until they had all gone, 3.2 MB, when short writes
/// always went first.)</para>
/// <para>While another stream waits, a turn is at most <see cref="TurnBytes"/>, so a stream that starts waiting behind
/// many bulk streams waits for a quantum of each, not for all the room of each; a stream alone keeps whole turns, so
/// its frames stay full size.</para>
/// </remarks>
internal sealed class WriteRoomTurns
{
    /// <summary>The most room one turn takes while other streams wait.</summary>
    public const int TurnBytes = 16 * 1024;

    /// <summary>The largest write that joins the short list.</summary>
    public const int ShortWriteBytes = 1024;

    private readonly Queue<MuxStream> _short = new();
    private readonly Queue<MuxStream> _bulk = new();
    private MuxStream? _inTurn;
    private int _turnLeft;
    // What the short list may still take before a bulk stream's turn. Kept from one wake-up to the next: a wake-up may
    // bring less room than a turn (MaxWriteQueueBytes under two turns), and a budget counted afresh at each would let the
    // short list take all of every one.
    private int _shortBudget = TurnBytes;

    /// <summary>True while any stream waits for room.</summary>
    public bool AnyWaiting => Waiting > 0;

    private int Waiting => _short.Count + _bulk.Count;

    /// <summary>
    /// Of <paramref name="free"/> bytes of room, what <paramref name="stream"/> may take now: all of it when nobody waits,
    /// nothing when others wait and it is not in its turn, at most the rest of its turn when it is.
    /// </summary>
    public long RoomFor(MuxStream stream, long free)
    {
        if (!AnyWaiting)
        {
            return free;
        }
        if (!ReferenceEquals(_inTurn, stream))
        {
            return 0;
        }
        return Waiting > 1 ? Math.Min(free, _turnLeft) : free;
    }

    /// <summary><paramref name="bytes"/> of room were taken; counted against the turn being served.</summary>
    public void Taken(int bytes)
    {
        if (_inTurn is not null)
        {
            _turnLeft -= bytes;
        }
    }

    /// <summary>Queues <paramref name="stream"/> (once) for a write of which <paramref name="wanted"/> bytes are left.</summary>
    public void Wait(MuxStream stream, int wanted)
    {
        if (stream.RoomQueued)
        {
            return;
        }
        stream.RoomQueued = true;
        (wanted <= ShortWriteBytes ? _short : _bulk).Enqueue(stream);
    }

    /// <summary>
    /// Room came: turns are served until <paramref name="roomLeft"/> says it is used up or nobody waits. Each turn runs
    /// the stream's writes (<see cref="MuxStream.PumpLocked"/>) with the room of its turn.
    /// </summary>
    public void Serve(Func<long> roomLeft)
    {
        // Room is looked at before each turn, not only after one that still needs room: a turn begun without room takes
        // nothing and would send its stream to the back of the bulk list, out of its place in the order of waiting (a
        // wake-up with the queue still full, when a waiting stream is reset; the room used up by a stream that finished).
        while (AnyWaiting && roomLeft() > 0)
        {
            bool fromShort = _short.Count > 0 && (_shortBudget > 0 || _bulk.Count == 0);
            var queue = fromShort ? _short : _bulk;
            if (fromShort && _shortBudget <= 0)
            {
                _shortBudget = TurnBytes; // nothing but short streams wait: a new round of them
            }
            var head = queue.Peek();
            _inTurn = head;
            // A short turn is for the short piece the stream joined the list with: writes queued behind it (a body after
            // its header), or a longer one that took the place of a cancelled piece, wait for the stream's bulk turns.
            // It is not cut to what is left of the budget: a piece begun within the budget is finished in its turn.
            _turnLeft = fromShort ? ShortWriteBytes : TurnBytes;
            int turn = _turnLeft;
            try
            {
                head.PumpLocked();
            }
            finally
            {
                _inTurn = null;
            }
            int taken = turn - _turnLeft;
            if (fromShort)
            {
                _shortBudget -= taken;
            }
            else if (taken > 0)
            {
                _shortBudget = TurnBytes; // after a bulk turn, the short list's turn again
            }
            // (A bulk stream that took nothing, its wait cancelled or its window shut, had no turn: the next one does.)

            if (!head.NeedsRoomLocked)
            {
                queue.Dequeue();
                head.RoomQueued = false;
                if (!AnyWaiting)
                {
                    _shortBudget = TurnBytes; // nobody waits: the next streams to wait start afresh
                }
                continue;
            }
            if (fromShort && _turnLeft > 0)
            {
                // Stopped by the room, not by its turn: the rest of its piece goes first when room comes again.
                return;
            }
            // Still writing: to the back of the bulk list (a short stream that needs more than its turn is a bulk one).
            queue.Dequeue();
            _bulk.Enqueue(head);
            if (taken == 0)
            {
                return; // a whole piece (a typed stream's prefix) that did not fit: the next turn comes when the queue drains
            }
        }
    }

    /// <summary>Forgets every waiting stream (the session ended).</summary>
    public void Clear()
    {
        _short.Clear();
        _bulk.Clear();
        _shortBudget = TurnBytes;
    }
}
