namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Removes NUnit's synchronisation context for a test's duration. .NET inlines an awaiting continuation on the
/// thread that completes the task only when no context is installed there, so with this scope the session's
/// continuations run inside the virtual-time step that causes them, and every assertion sees their effect.
/// </summary>
/// <remarks>For synchronous tests only: an async test that awaited would resume without NUnit's context.</remarks>
internal sealed class InlineContinuations : IDisposable
{
    private readonly SynchronizationContext? _saved = SynchronizationContext.Current;

    public InlineContinuations() => SynchronizationContext.SetSynchronizationContext(null);

    public void Dispose() => SynchronizationContext.SetSynchronizationContext(_saved);
}
