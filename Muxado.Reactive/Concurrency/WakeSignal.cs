using System.Threading.Tasks.Sources;

namespace Muxado.Reactive.Concurrency;

/// <summary>
/// A reusable wake-up for one loop that sleeps when it has no work: the loop <see cref="Arm"/>s it and awaits
/// <see cref="WaitAsync"/>, a waker <see cref="Fire"/>s it once. Nothing is allocated per sleep or per wake, and the
/// object is small, so a loop that sleeps for ever (an idle transport's writer) costs little.
/// </summary>
/// <remarks>
/// <para>The owner's protocol, which this object relies on: <see cref="Arm"/> is called only by the loop, when it does
/// not wait (the previous wait has returned); then exactly one waker calls <see cref="Fire"/> for that arming (the owner
/// decides who, under its own lock, typically by taking an "asleep" flag that the loop set after arming). A fire may come
/// before the loop has started to await: the await then completes at once.</para>
/// <para>The loop never runs on the waker's thread: <see cref="Fire"/> queues the completion to the thread pool, so a
/// waker holding a lock (a session enqueuing a frame) does not find the loop running inside it.</para>
/// </remarks>
internal sealed class WakeSignal : IValueTaskSource<bool>, IThreadPoolWorkItem
{
    // Continuations run inline in Execute, which is already on the thread pool.
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _result;

    /// <summary>Prepares a new sleep. Only the loop calls it, when it is not waiting.</summary>
    public void Arm() => _core.Reset();

    /// <summary>The wait for the current arming: completes with the value given to <see cref="Fire"/>.</summary>
    public ValueTask<bool> WaitAsync() => new(this, _core.Version);

    /// <summary>Wakes the loop with <paramref name="result"/>; once per <see cref="Arm"/>.</summary>
    public void Fire(bool result)
    {
        _result = result;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute() => _core.SetResult(_result);

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
