using Muxado.Reactive.Concurrency;
using Muxado.Reactive.Tests.Transports;

namespace Muxado.Reactive.Tests.Concurrency;

/// <summary>The reusable wake-up the transport's writer loop sleeps on.</summary>
[TestFixture]
public sealed class WakeSignalTests
{
    [Test]
    public async Task A_fire_before_the_wait_completes_the_wait_with_its_value()
    {
        var signal = new WakeSignal();
        signal.Arm();

        signal.Fire(false);

        Assert.That(await signal.WaitAsync().AsTask().WaitAsync(RecordingObserver.Timeout), Is.False);
    }

    [Test]
    public async Task Each_arming_is_a_new_sleep_that_waits_for_its_own_fire()
    {
        var signal = new WakeSignal();
        for (int i = 0; i < 100; i++)
        {
            signal.Arm();
            var wait = signal.WaitAsync().AsTask();
            Assert.That(wait.IsCompleted, Is.False, $"sleep {i} woke without a fire");
            signal.Fire(i % 2 == 0);
            Assert.That(await wait.WaitAsync(RecordingObserver.Timeout), Is.EqualTo(i % 2 == 0));
        }
    }

    [Test]
    public async Task The_woken_loop_never_runs_on_the_thread_that_fired()
    {
        var signal = new WakeSignal();
        signal.Arm();
        var resumedOn = Resume(signal);
        int firedOn = 0;

        // A thread of our own, which the thread pool can never lend to the continuation.
        var waker = new Thread(() =>
        {
            firedOn = Environment.CurrentManagedThreadId;
            signal.Fire(true);
        });
        waker.Start();
        waker.Join();

        Assert.That(await resumedOn.WaitAsync(RecordingObserver.Timeout), Is.Not.EqualTo(firedOn));
    }

    private static async Task<int> Resume(WakeSignal signal)
    {
        await signal.WaitAsync().ConfigureAwait(false);
        return Environment.CurrentManagedThreadId;
    }
}
