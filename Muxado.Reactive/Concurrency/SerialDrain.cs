using System.Reactive.Concurrency;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// Runs a delivery loop on a scheduler, one run at a time, in bounded turns: the one mechanism behind every delivery
/// to user code (a stream's data, incoming streams, the in-memory transport's frames, the credit operators).
/// </summary>
/// <remarks>
/// <para>The shape of Rx's own <c>ObserveOn</c> sink: <see cref="Signal"/> says "there may be something to deliver";
/// the first signal of an idle drain schedules a run, later signals while it runs only make it look once more, so no
/// signal is lost and no two runs overlap. A run calls the step function until it reports nothing left.</para>
/// <para>Fairness: after <see cref="BatchLimit"/> deliveries a run reschedules itself instead of going on, so that on a
/// single-threaded scheduler (an event loop, a UI dispatcher) one busy stream yields to the others.</para>
/// <para>The step function owns the hand-off and the policy for an observer that throws (see <see cref="ObserverDrain{T}"/>);
/// it must not throw. If it does (a bug), the drain is left idle so that a later signal can run it again.</para>
/// </remarks>
internal sealed class SerialDrain : IDeferredWork
{
    /// <summary>Deliveries per turn before a run yields the scheduler.</summary>
    public const int BatchLimit = 64;

    private const int Idle = 0;
    private const int Running = 1;
    private const int RunAgain = 2;

    private readonly IScheduler _scheduler;
    private readonly Func<bool> _step;
    private readonly Action _run;
    private int _state;

    /// <param name="scheduler">Where runs happen.</param>
    /// <param name="step">Delivers at most one item; returns false when there was nothing to deliver.</param>
    public SerialDrain(IScheduler scheduler, Func<bool> step)
    {
        _scheduler = scheduler;
        _step = step;
        _run = Run;
    }

    /// <summary>Makes sure a run will look for work after this call. Never call it under a lock that a step takes.</summary>
    public void Signal()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == RunAgain)
            {
                return;
            }
            if (state == Running)
            {
                if (Interlocked.CompareExchange(ref _state, RunAgain, Running) == Running)
                {
                    return;
                }
                continue;
            }
            if (Interlocked.CompareExchange(ref _state, Running, Idle) == Idle)
            {
                _scheduler.Schedule(_run);
                return;
            }
        }
    }

    void IDeferredWork.Run() => Signal();

    private void Run()
    {
        int delivered = 0;
        try
        {
            while (true)
            {
                // A signal from here on is seen by the steps below; one that came earlier has been seen already.
                Volatile.Write(ref _state, Running);
                while (_step())
                {
                    if (++delivered >= BatchLimit)
                    {
                        _scheduler.Schedule(_run); // stays Running: signals meanwhile are absorbed by that run
                        return;
                    }
                }
                if (Interlocked.CompareExchange(ref _state, Idle, Running) == Running)
                {
                    return;
                }
            }
        }
        catch
        {
            Volatile.Write(ref _state, Idle);
            throw;
        }
    }
}
