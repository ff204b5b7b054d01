using Muxado.Reactive.Tests.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Runs a <see cref="TestScheduler"/> inside an <see cref="InlineContinuations"/> scope, so that the session's
/// continuations run inside the virtual-time step that causes them even from an async test.
/// </summary>
internal static class InlineRuns
{
    public static int RunUntilIdleInline(this TestScheduler scheduler, int maxSteps = TestScheduler.DefaultMaxSteps)
    {
        using var inline = new InlineContinuations();
        return scheduler.RunUntilIdle(maxSteps);
    }

    public static int RunToInline(this TestScheduler scheduler, long time, int maxSteps = TestScheduler.DefaultMaxSteps)
    {
        using var inline = new InlineContinuations();
        return scheduler.RunTo(time, maxSteps);
    }
}
