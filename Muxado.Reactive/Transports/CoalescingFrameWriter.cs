using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// The write side of a <see cref="PipeFrameTransport"/>: frames are encoded at once into a buffer, and one writer
/// loop sends whatever has accumulated in a single write.
/// </summary>
/// <remarks>
/// <para>Double buffering: callers encode into the <em>filling</em> buffer under a short lock (so a frame's
/// payload is copied before <see cref="Enqueue"/> returns); the loop swaps it with the spare buffer under the
/// same lock and writes it outside the lock, while callers fill the other one. Many small frames sent while a
/// write is in progress therefore go out together in the next write. While the writer is busy both buffers keep
/// their arrays, so the steady state allocates nothing per frame.</para>
/// <para>Idle costs no buffer: the arrays are rented from <see cref="FrameTransportOptions.WriteBufferPool"/> on the
/// first frame and given back when the loop finds nothing more to write and goes to sleep (one rent and one return per
/// idle-to-busy turn), so a session that sends nothing holds no write buffer at all.</para>
/// <para>Who owns a buffer, at every instant: <c>_filling</c> and <c>_spare</c> belong to whoever holds the lock
/// (callers encode into <c>_filling</c>; <see cref="Stop"/> and the sleeping loop release both under the lock). The
/// batch being written belongs to the loop alone from the swap until its <see cref="TransportConnection.WriteAsync"/>
/// calls have completed: only then does the loop hand it back (as the spare, or released when the writer stopped
/// meanwhile). A <see cref="Stop"/> on another thread therefore never releases an array the connection may still be
/// reading, and once stopped nothing encodes into a buffer, so a released array is never written again.</para>
/// <para>The loop sleeps on a <see cref="WakeSignal"/> when there is nothing to write; a caller wakes it only when it
/// finds it asleep (taking the "asleep" flag under the lock, so exactly one caller wakes each sleep), so a busy writer
/// costs callers nothing but the lock.</para>
/// <para>A failed write is reported once through the callback given to the constructor, unless the writer was
/// stopped on purpose (then the failure is only the consequence of our own close).</para>
/// </remarks>
internal sealed class CoalescingFrameWriter : IWriteQueueCounters
{
    /// <summary>Largest piece of a batch written at once (see RunAsync).</summary>
    private const int WriteSlice = 64 * 1024;

    private readonly object _gate = new();
    private readonly TransportConnection _connection;
    private readonly Action<Exception> _onFailed;
    private readonly int _maxRetainedSize;
    private readonly WakeSignal _wake = new();
    private readonly CancellationTokenSource _stop = new();
    private PooledBufferWriter _filling;
    private PooledBufferWriter? _spare;
    private long _pending;
    private long _enqueued;
    private long _written;
    private State _state;
    private bool _loopAsleep;

    /// <summary>Starts the writer loop.</summary>
    public CoalescingFrameWriter(TransportConnection connection, FrameTransportOptions options, Action<Exception> onFailed)
    {
        _connection = connection;
        _onFailed = onFailed;
        _maxRetainedSize = Math.Max(options.MaxRetainedWriteBufferSize, options.WriteBufferSize);
        _filling = new PooledBufferWriter(options.WriteBufferPool, options.WriteBufferSize);
        _spare = new PooledBufferWriter(options.WriteBufferPool, options.WriteBufferSize);
        Waiters = new WriteSpaceWaiters(this);
        // Started inline: it only goes to sleep before its first await, which resumes on the thread pool (no await in it
        // captures a context), and the task it returns is the loop's own state machine, with no Task.Run wrapper.
        Completion = RunAsync();
    }

    private enum State
    {
        Open,
        Completing,
        Stopped,
    }

    private enum Step
    {
        Write,
        Finish,
        Sleep,
        Stop,
    }

    /// <summary>Bytes accepted and not yet written (including the write in progress).</summary>
    public long PendingBytes => Interlocked.Read(ref _pending);

    /// <summary>Bytes accepted since the start (a position in the outgoing byte stream).</summary>
    public long BytesEnqueued => Interlocked.Read(ref _enqueued);

    /// <summary>Bytes the connection has taken since the start.</summary>
    public long BytesWritten => Interlocked.Read(ref _written);

    /// <summary>Callers waiting for <see cref="PendingBytes"/> to drop.</summary>
    public WriteSpaceWaiters Waiters { get; }

    /// <summary>Ends when the loop has stopped; never faults.</summary>
    public Task Completion { get; }

    /// <summary>Encodes <paramref name="frame"/> into the write buffer; ignored once completing or stopped.</summary>
    /// <exception cref="ArgumentException">The frame is truncated and cannot be encoded.</exception>
    public void Enqueue(in Frame frame)
    {
        bool wake;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }
            int before = _filling.WrittenCount;
            try
            {
                FrameWriter.Write(_filling, frame);
            }
            catch (ArgumentException) when (before == 0 && _loopAsleep)
            {
                // A frame that cannot be encoded wakes nobody: do not let the array it rented outlive the call.
                _filling.Release();
                throw;
            }
            int added = _filling.WrittenCount - before;
            Interlocked.Add(ref _pending, added);
            Interlocked.Add(ref _enqueued, added);
            wake = TakeSleeper();
        }
        Wake(wake);
    }

    /// <summary>Writes what is queued, then closes the sending direction.</summary>
    public void Complete()
    {
        bool wake;
        lock (_gate)
        {
            if (_state != State.Open)
            {
                return;
            }
            _state = State.Completing;
            wake = TakeSleeper();
        }
        Wake(wake);
    }

    /// <summary>Drops what is queued and stops the loop, breaking off a write in progress. Idempotent.</summary>
    public void Stop()
    {
        bool wake;
        lock (_gate)
        {
            if (_state == State.Stopped)
            {
                return;
            }
            StopLocked();
            wake = TakeSleeper();
        }
        // A sleeping loop wakes to find itself stopped; a loop that is not asleep sees it at its next step.
        if (wake)
        {
            _wake.Fire(false);
        }
        _stop.Cancel();
        Waiters.ReleaseAll();
    }

    /// <summary>
    /// The loop: write a batch, close the sending side, or sleep, until stopped. One async method with every await in it,
    /// so that a sleeping loop holds one state machine and a turn that waits allocates none.
    /// </summary>
    private async Task RunAsync()
    {
        Exception? failure = null;
        try
        {
            while (true)
            {
                var step = NextStep(out var batch);
                if (step == Step.Write)
                {
                    bool stopped = false;
                    try
                    {
                        // In slices: progress (what the session's write watchdog measures, and what frees room for
                        // writers) then shows while a large batch crawls over a slow link, instead of only at its end.
                        var bytes = batch!.WrittenMemory;
                        for (int offset = 0; offset < bytes.Length && !stopped; offset += WriteSlice)
                        {
                            var slice = bytes.Slice(offset, Math.Min(WriteSlice, bytes.Length - offset));
                            await _connection.WriteAsync(slice, _stop.Token).ConfigureAwait(false);
                            stopped = !Written(slice.Length);
                            if (!stopped)
                            {
                                Waiters.Notify();
                            }
                        }
                    }
                    finally
                    {
                        // Reached only once the write has completed (returned or thrown): the connection no longer
                        // reads the batch.
                        Recycle(batch!);
                    }
                    if (stopped)
                    {
                        break;
                    }
                }
                else if (step == Step.Finish)
                {
                    await _connection.CloseSendAsync().ConfigureAwait(false);
                    lock (_gate)
                    {
                        StopLocked();
                    }
                    break;
                }
                else if (step == Step.Stop || !await _wake.WaitAsync().ConfigureAwait(false))
                {
                    break; // stopped, or Stop woke us
                }
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        bool report;
        lock (_gate)
        {
            report = failure is not null && _state != State.Stopped;
            StopLocked();
        }
        try
        {
            _connection.CompleteOutput();
        }
        catch (InvalidOperationException)
        {
            // A pipe whose other end misbehaved may refuse completion; we are letting go of it either way.
        }
        try
        {
            if (report)
            {
                _onFailed(failure!);
            }
        }
        finally
        {
            // Only now: a waiter that wakes must find the failure recorded and the connection already closed.
            Waiters.ReleaseAll();
        }
    }

    /// <summary>What the loop does next, decided under the lock; for <see cref="Step.Write"/>, the batch it now owns.</summary>
    private Step NextStep(out PooledBufferWriter? batch)
    {
        batch = null;
        lock (_gate)
        {
            if (_state == State.Stopped)
            {
                return Step.Stop;
            }
            if (_filling.WrittenCount > 0)
            {
                batch = _filling;
                _filling = _spare!;
                _spare = null;
                return Step.Write;
            }
            if (_state == State.Completing)
            {
                return Step.Finish;
            }
            // Idle: the arrays go back to the pool until the next frame (the filling buffer is empty, and the loop holds
            // no batch, so both are ours to release under the lock).
            _filling.Release();
            _spare?.Release();
            _wake.Arm();
            _loopAsleep = true;
            return Step.Sleep;
        }
    }

    /// <summary>Counts <paramref name="count"/> bytes as written; false when the writer was stopped meanwhile.</summary>
    private bool Written(int count)
    {
        lock (_gate)
        {
            if (_state == State.Stopped)
            {
                return false;
            }
            Interlocked.Add(ref _pending, -count);
            Interlocked.Add(ref _written, count);
            return true;
        }
    }

    /// <summary>The loop is done with the batch it wrote: it becomes the spare again, or is released if the writer stopped.</summary>
    private void Recycle(PooledBufferWriter batch)
    {
        lock (_gate)
        {
            // A buffer that grew for a burst of large frames goes back to the pool rather than being kept while busy.
            if (_state == State.Stopped || batch.Capacity > _maxRetainedSize)
            {
                batch.Release();
            }
            else
            {
                batch.Clear();
            }
            if (_state != State.Stopped)
            {
                _spare = batch;
            }
        }
    }

    /// <summary>Stops for good; the buffers the lock owns go back to the pool (a batch being written is the loop's).</summary>
    private void StopLocked()
    {
        _state = State.Stopped;
        Interlocked.Exchange(ref _pending, 0);
        _filling.Release();
        _spare?.Release();
        _spare = null;
    }

    private bool TakeSleeper()
    {
        bool asleep = _loopAsleep;
        _loopAsleep = false;
        return asleep;
    }

    private void Wake(bool wake)
    {
        if (wake)
        {
            _wake.Fire(true);
        }
    }
}
