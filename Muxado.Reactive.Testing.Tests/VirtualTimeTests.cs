using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing.Tests;

[TestFixture]
public class VirtualTimeTests
{
    [Test]
    public void SessionOptions_put_the_scheduler_on_the_given_options()
    {
        var scheduler = new TestScheduler();
        var options = scheduler.SessionOptions(new MuxSessionOptions { WindowSize = 2048 });
        Assert.That(options.Scheduler, Is.SameAs(scheduler));
        Assert.That(options.WindowSize, Is.EqualTo(2048));
        Assert.That(scheduler.SessionOptions().WindowSize, Is.EqualTo(MuxSessionOptions.Default.WindowSize));
    }

    [Test]
    public void Users_async_code_runs_to_its_end_in_virtual_time()
    {
        var scheduler = new BoundedTestScheduler();
        var (a, b) = scheduler.CreateInMemoryPair();
        var client = MuxSession.Client(a, scheduler.SessionOptions());
        var server = MuxSession.Server(b, scheduler.SessionOptions());

        // The user's code: an echo server and a client that waits two seconds (a timer on the same scheduler) before asking.
        _ = scheduler.Start(async () =>
        {
            var stream = await server.AcceptAsync();
            await foreach (var chunk in stream.ReadAllAsync())
            {
                await stream.WriteAsync(chunk);
            }
            await stream.CloseWriteAsync();
        });
        var (answer, at) = scheduler.Run(async () =>
        {
            await Observable.Timer(TimeSpan.FromSeconds(2), scheduler);
            var stream = await client.OpenAsync();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("echo?"));
            await stream.CloseWriteAsync();
            var text = new StringBuilder();
            await foreach (var chunk in stream.ReadAllAsync())
            {
                text.Append(Encoding.ASCII.GetString(chunk.Span));
            }
            return (text.ToString(), scheduler.Clock);
        });

        Assert.That(answer, Is.EqualTo("echo?"));
        Assert.That(at, Is.InRange(TimeSpan.FromSeconds(2).Ticks, TimeSpan.FromSeconds(2).Ticks + TimeSpan.TicksPerMillisecond),
            "the timer's two seconds and a few scheduler hops, not real time");
        scheduler.RunUntilCompleted(Task.WhenAll(client.DisposeAsync().AsTask(), server.DisposeAsync().AsTask()));
    }

    [Test]
    public void Run_reports_code_that_waits_for_something_that_never_happens()
    {
        var scheduler = new BoundedTestScheduler();
        var never = new TaskCompletionSource<int>();
        var failure = Assert.Throws<TestFailureException>(() => scheduler.Run(async () => await never.Task, realTimeGrace: TimeSpan.FromMilliseconds(50)));
        Assert.That(failure!.Message, Does.Contain("never happens"));
    }

    [Test]
    public void Run_rethrows_what_the_code_throws()
    {
        var scheduler = new BoundedTestScheduler();
        Assert.That(() => scheduler.Run(async () =>
        {
            await Observable.Timer(TimeSpan.FromSeconds(1), scheduler);
            throw new InvalidOperationException("the user's bug");
        }), Throws.InvalidOperationException.With.Message.EqualTo("the user's bug"));
    }

    [Test]
    public void Record_subscribes_outside_the_tests_synchronization_context()
    {
        var scheduler = new BoundedTestScheduler();
        var saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new DroppingContext());
        try
        {
            // An async body that awaits a timer: under the dropping context its continuation would never run.
            var source = Observable.Create<long>(async (observer, cancel) =>
            {
                await Observable.Timer(TimeSpan.FromSeconds(1), scheduler).ToTask(cancel);
                observer.OnNext(scheduler.Clock);
                observer.OnCompleted();
            });
            var recorded = scheduler.Record(source);
            scheduler.RunUntilIdle();
            Assert.That(recorded.Messages.Select(m => m.Value.Kind), Is.EqualTo(new[] { System.Reactive.NotificationKind.OnNext, System.Reactive.NotificationKind.OnCompleted }));
            Assert.That(recorded.Messages[0].Value.Value, Is.EqualTo(TimeSpan.TicksPerSecond));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    /// <summary>A context that never runs what is posted to it, as a test framework's does until the test awaits.</summary>
    private sealed class DroppingContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
        }
    }
}
