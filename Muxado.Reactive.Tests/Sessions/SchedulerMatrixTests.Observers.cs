using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>The observers and the probe of <see cref="SchedulerMatrixTests"/>.</summary>
public partial class SchedulerMatrixTests
{
    /// <summary>The bytes seen by a sequence of subscribers, checked against the writer's pattern as they come.</summary>
    private sealed class ResubscribedBytes(int expected)
    {
        private readonly Lock _gate = new();
        private long _count;
        private int _deliveries;

        public int Deliveries => Volatile.Read(ref _deliveries);

        public TaskCompletionSource<long> Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string? FirstMismatch { get; private set; }

        public void Add(ReadOnlySpan<byte> chunk)
        {
            lock (_gate)
            {
                for (int j = 0; j < chunk.Length; j++)
                {
                    long at = _count + j;
                    if (FirstMismatch is null && (at >= expected || chunk[j] != (byte)(at % 251)))
                    {
                        FirstMismatch = $"byte {at} is {chunk[j]}, expected {at % 251}";
                    }
                }
                _count += chunk.Length;
                _deliveries++;
            }
        }

        public void Complete()
        {
            lock (_gate)
            {
                Completed.TrySetResult(_count);
            }
        }
    }

    private sealed class ResubscribingObserver(ResubscribedBytes shared, Probe probe) : IObserver<ReadOnlyMemory<byte>>
    {
        private volatile bool _unsubscribed;
        private volatile bool _delivered;
        private int _afterUnsubscribe;

        public bool HasDelivered => _delivered;

        /// <summary>
        /// Dispose has returned: from now on at most one notification may come, the one the session had already taken
        /// for this subscriber when it left (Dispose does not wait for it, as Rx's own ObserveOn does not: waiting
        /// deadlocks Merge/Take compositions). That one is delivered, so no byte is lost.
        /// </summary>
        public void MarkUnsubscribed() => _unsubscribed = true;

        private void AfterUnsubscribe(string what)
        {
            if (_unsubscribed && Interlocked.Increment(ref _afterUnsubscribe) > 1)
            {
                probe.Violation($"{what} after Dispose returned, and not the first");
            }
        }

        public void OnNext(ReadOnlyMemory<byte> value)
        {
            probe.Check("Received.OnNext (re-subscribed)");
            AfterUnsubscribe($"OnNext of {value.Length} bytes");
            shared.Add(value.Span);
            _delivered = true;
        }

        public void OnError(Exception error)
        {
            probe.Violation($"Received failed: {error}");
            shared.Completed.TrySetException(error);
        }

        public void OnCompleted()
        {
            probe.Check("Received.OnCompleted (re-subscribed)");
            AfterUnsubscribe("OnCompleted");
            shared.Complete();
        }
    }

    /// <summary>Hashes what Received delivers and records how it ended; checks each notification with the probe.</summary>
    private sealed class HashingObserver(Probe probe, string name) : IObserver<ReadOnlyMemory<byte>>
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly TaskCompletionSource<(byte[] Hash, long Length, Exception? Error)> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _length;

        public Task<(byte[] Hash, long Length, Exception? Error)> Done => _done.Task;

        public void OnNext(ReadOnlyMemory<byte> value)
        {
            probe.Check($"Received.OnNext ({name})");
            if (_done.Task.IsCompleted)
            {
                probe.Violation($"{name}: OnNext after the terminal notification");
            }
            _hash.AppendData(value.Span);
            _length += value.Length;
        }

        public void OnError(Exception error) => End("OnError", error);

        public void OnCompleted() => End("OnCompleted", null);

        private void End(string what, Exception? error)
        {
            probe.Check($"Received.{what} ({name})");
            if (!_done.TrySetResult((_hash.GetHashAndReset(), _length, error)))
            {
                probe.Violation($"{name}: a second terminal notification ({what})");
            }
            _hash.Dispose();
        }
    }

    /// <summary>
    /// Checks, at each notification, that no session lock is held by the calling thread and that the thread belongs to
    /// the scheduler under test; collects what went wrong for the test to assert at the end.
    /// </summary>
    private sealed class Probe(SchedulerUnderTest scheduler, params MuxSession[] sessions)
    {
        private readonly ConcurrentQueue<string> _violations = new();
        private int _checks;

        public void Check(string where)
        {
            Interlocked.Increment(ref _checks);
            foreach (var session in sessions)
            {
                if (session.Lock.IsHeldByCurrentThread)
                {
                    Violation($"{where} ran under the {session.Role} session's lock");
                }
            }
            if (!scheduler.IsCurrentThread())
            {
                Violation($"{where} ran on thread '{Thread.CurrentThread.Name}' (#{Environment.CurrentManagedThreadId}), not one of {scheduler.Name}'s");
            }
        }

        public void Violation(string what) => _violations.Enqueue(what);

        public void AssertClean(int minimumChecks)
        {
            Assert.That(_violations.Take(20), Is.Empty, $"{_violations.Count} violation(s) on {scheduler.Name}");
            Assert.That(Volatile.Read(ref _checks), Is.GreaterThanOrEqualTo(minimumChecks), "the notifications were seen");
        }
    }
}
