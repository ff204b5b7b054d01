namespace Muxado.Reactive.Interop;

/// <summary>Tasks still running (one per served connection); finished ones drop out so a long serve does not grow.</summary>
internal sealed class TaskSet
{
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _tasks = [];

    public void Add(Task task)
    {
        lock (_gate)
        {
            _tasks.Add(task);
        }
        task.ContinueWith(
            done =>
            {
                lock (_gate)
                {
                    _tasks.Remove(done);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Waits until every task added so far (and any added meanwhile) has finished.</summary>
    public async Task WhenAllAsync()
    {
        while (true)
        {
            Task[] pending;
            lock (_gate)
            {
                pending = [.. _tasks];
            }
            if (pending.Length == 0)
            {
                return;
            }
            try
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A failed task has said why on its own; waiting is all that is left.
                foreach (var task in pending)
                {
                    lock (_gate)
                    {
                        _tasks.Remove(task);
                    }
                }
            }
        }
    }
}
