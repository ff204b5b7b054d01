using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>
/// Which types the allocated bytes went to, sampled in-process from the runtime's <c>GCAllocationTick</c> event
/// (raised about once per 100 KB allocated, naming the type of the object that crossed the mark), so a share of the
/// samples is an estimate of the share of bytes. Needs no external profiler; enabled by <c>compare --alloc-profile</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private const int AllocationTickEventId = 10;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _recording;

    /// <summary>Samples count only between <see cref="Start"/> and <see cref="Stop"/> (the measured runs, not warm-up).</summary>
    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    /// <summary>The most allocated types with their share of the sampled bytes, largest first.</summary>
    public IReadOnlyList<TypeShare> Top(int count)
    {
        long total = _bytesByType.Values.Sum();
        return total == 0 ? [] : _bytesByType.OrderByDescending(p => p.Value).Take(count)
            .Select(p => new TypeShare(p.Key, (double)p.Value / total)).ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != AllocationTickEventId || eventData.PayloadNames is null)
        {
            return;
        }
        int typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        int amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || eventData.Payload?[typeIndex] is not string type)
        {
            return;
        }
        long amount = amountIndex >= 0 && eventData.Payload[amountIndex] is ulong big ? (long)big : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }
}

/// <summary>A type and its share of the sampled allocated bytes.</summary>
internal sealed record TypeShare(string Type, double Share);
