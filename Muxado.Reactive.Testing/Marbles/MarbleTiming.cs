using System.Globalization;
using Microsoft.Reactive.Testing;

namespace Muxado.Reactive.Testing;

/// <summary>
/// How a marble string maps to virtual time: where its time zero is, and how many ticks one frame (a <c>-</c>
/// or an event) lasts.
/// </summary>
/// <remarks>
/// <para>A marble frame is a slot of time, not an instant. An expected event matches a recorded one at its marble
/// time or up to one frame later (<c>[t, t + TicksPerFrame)</c>), and a recorded timeline is drawn with each event
/// in the frame its tick falls in. The code under test takes scheduler hops to react, and the
/// <see cref="TestScheduler"/> moves the clock by a tick for each work item scheduled "now": a WNDINC sent in
/// answer to a DATA frame injected at tick 210 is recorded at 211 or 213, and both are drawn in the DATA's
/// frame. A test that needs tick precision uses <c>TicksPerFrame = 1</c>, or compares recorded ticks directly.</para>
/// <para>Cold marbles ignore <see cref="Origin"/>: their time zero is each subscription.</para>
/// </remarks>
/// <param name="Origin">Absolute tick of time zero: the string's <c>^</c>, or its first frame when it has none.</param>
/// <param name="TicksPerFrame">Ticks one frame lasts (at least 1).</param>
public readonly record struct MarbleTiming(long Origin, long TicksPerFrame)
{
    /// <summary>Default frame length: 10 ticks, Microsoft.Reactive.Testing's convention.</summary>
    public const long DefaultTicksPerFrame = 10;

    /// <summary>
    /// Time zero at <see cref="ReactiveTest.Subscribed"/> (tick 200), where <see cref="TestScheduler.Start{T}(Func{IObservable{T}})"/>
    /// subscribes, and 10 ticks per frame.
    /// </summary>
    public static MarbleTiming Default { get; } = new(ReactiveTest.Subscribed, DefaultTicksPerFrame);

    /// <summary>Time zero at <paramref name="origin"/> with the default frame length.</summary>
    public static MarbleTiming At(long origin) => new(origin, DefaultTicksPerFrame);

    /// <summary>Checks the frame length; called by every kit method that takes a timing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="TicksPerFrame"/> is less than 1.</exception>
    public MarbleTiming Validate() => TicksPerFrame >= 1
        ? this
        : throw new ArgumentOutOfRangeException(nameof(TicksPerFrame), TicksPerFrame, "A marble frame lasts at least one tick.");

    /// <summary>Readable form for failure messages.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture, $"time zero at tick {Origin}, {TicksPerFrame} ticks per frame");
}
