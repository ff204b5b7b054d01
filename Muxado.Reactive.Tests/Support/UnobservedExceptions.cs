using System.Collections.Concurrent;
using NUnit.Framework.Interfaces;

[assembly: Muxado.Reactive.Tests.Support.FailOnUnobservedExceptions]

namespace Muxado.Reactive.Tests.Support;

/// <summary>
/// Fails the test during which a task's exception went unobserved (a fire-and-forget task that faulted) or an exception
/// escaped onto a thread of its own: the library promises that no failure vanishes (issue 10), so the suite checks it
/// after every test, with a collection so that the finalizer that reports an unobserved task runs in time.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class FailOnUnobservedExceptionsAttribute : Attribute, ITestAction
{
    private static readonly ConcurrentQueue<Exception> Seen = new();
    private static int _installed;

    public ActionTargets Targets => ActionTargets.Test;

    public void BeforeTest(ITest test)
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            TaskScheduler.UnobservedTaskException += (_, e) => Seen.Enqueue(e.Exception);
            AppDomain.CurrentDomain.UnhandledException += (_, e) => Seen.Enqueue(e.ExceptionObject as Exception ?? new Exception(e.ExceptionObject?.ToString()));
        }
    }

    public void AfterTest(ITest test)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var found = new List<Exception>();
        while (Seen.TryDequeue(out var e))
        {
            found.Add(e);
        }
        if (found.Count > 0)
        {
            Assert.Fail($"{found.Count} exception(s) went unobserved during or before this test:{Environment.NewLine}" +
                string.Join(Environment.NewLine + "---" + Environment.NewLine, found.Select(e => e.ToString())));
        }
    }
}
