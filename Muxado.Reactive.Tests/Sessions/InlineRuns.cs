using Muxado.Reactive.Tests.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Runs a <see cref="TestScheduler"/> with no SynchronizationContext installed. The session completes its
/// waiters from scheduler work items; .NET runs an awaiting continuation inline there only when no
/// SynchronizationContext is current (NUnit installs one for async tests). Without this, continuations
/// would escape to the thread pool and a virtual-time run would no longer be deterministic.
/// </summary>
internal static class InlineRuns
{
    public static int RunUntilIdleInline(this TestScheduler scheduler, int maxSteps = TestScheduler.DefaultMaxSteps) =>
        Inline(() => scheduler.RunUntilIdle(maxSteps));

    public static int RunToInline(this TestScheduler scheduler, long time, int maxSteps = TestScheduler.DefaultMaxSteps) =>
        Inline(() => scheduler.RunTo(time, maxSteps));

    private static int Inline(Func<int> run)
    {
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return run();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }
}
