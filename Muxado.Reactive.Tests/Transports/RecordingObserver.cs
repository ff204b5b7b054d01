using Muxado.Reactive.Frames;
using Muxado.Reactive.Transports;
using NUnit.Framework;

namespace Muxado.Reactive.Tests.Transports;

/// <summary>
/// Records the frames and the terminal notification a transport's Inbound delivers, and checks the Rx grammar
/// on the way: no overlapping calls, nothing after the end.
/// </summary>
internal sealed class RecordingObserver : IObserver<Frame>
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly List<Frame> _frames = [];
    private readonly TaskCompletionSource<Exception?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(int Count, TaskCompletionSource Reached)> _countWaiters = [];
    private int _inside;
    private bool _ended;

    /// <summary>Runs inside OnNext, after the frame is recorded.</summary>
    public Action<Frame>? OnFrame { get; init; }

    public bool GrammarBroken { get; private set; }

    public Frame[] Frames
    {
        get
        {
            lock (_gate)
            {
                return [.. _frames];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _frames.Count;
            }
        }
    }

    public bool IsDone => _done.Task.IsCompleted;

    /// <summary>The terminal notification: null for OnCompleted, the exception for OnError.</summary>
    public Task<Exception?> Done => _done.Task;

    public Task<Exception?> WaitDoneAsync() => _done.Task.WaitAsync(Timeout);

    public Task WaitForCountAsync(int count)
    {
        lock (_gate)
        {
            if (_frames.Count >= count)
            {
                return Task.CompletedTask;
            }
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _countWaiters.Add((count, reached));
            return reached.Task.WaitAsync(Timeout);
        }
    }

    public void OnNext(Frame value)
    {
        Enter();
        try
        {
            lock (_gate)
            {
                GrammarBroken |= _ended;
                _frames.Add(value);
                foreach (var waiter in _countWaiters.Where(w => w.Count <= _frames.Count).ToList())
                {
                    waiter.Reached.TrySetResult();
                    _countWaiters.Remove(waiter);
                }
            }
            OnFrame?.Invoke(value);
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }

    public void OnError(Exception error) => End(error);

    public void OnCompleted() => End(null);

    private void End(Exception? error)
    {
        Enter();
        lock (_gate)
        {
            GrammarBroken |= _ended;
            _ended = true;
        }
        Interlocked.Decrement(ref _inside);
        _done.TrySetResult(error);
    }

    private void Enter()
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            GrammarBroken = true;
        }
    }
}
