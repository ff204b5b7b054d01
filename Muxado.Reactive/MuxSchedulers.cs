using System.Reactive.Concurrency;
using Muxado.Reactive.Concurrency;

namespace Muxado.Reactive;

/// <summary>The schedulers the library provides.</summary>
public static class MuxSchedulers
{
    /// <summary>
    /// The default <see cref="MuxSessionOptions.Scheduler"/>: a pool of delivery threads of its own, shared by every
    /// session, that keeps subscribers that block away from the .NET thread pool (which the transports use) and adds a
    /// thread within milliseconds when all of its threads are held, so one blocked subscriber stalls only its own stream.
    /// </summary>
    /// <remarks>
    /// Each subscriber blocked in <c>OnNext</c> holds one of its threads (up to 1,024); threads idle for 20 seconds end.
    /// Work that is never blocked runs on at most one thread per processor.
    /// </remarks>
    public static IScheduler Delivery { get; } = new DeliveryScheduler();
}
