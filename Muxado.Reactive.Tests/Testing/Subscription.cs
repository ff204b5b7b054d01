using System.Globalization;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// When an observer subscribed to a test observable and when that subscription was disposed, in virtual ticks;
/// lets a test check that an operator subscribes and unsubscribes at the right moments.
/// </summary>
public readonly struct Subscription : IEquatable<Subscription>
{
    /// <summary>The <see cref="Unsubscribe"/> value of a subscription that was never disposed.</summary>
    public const long Infinite = long.MaxValue;

    /// <summary>A subscription made at <paramref name="subscribe"/> and never disposed.</summary>
    public Subscription(long subscribe)
        : this(subscribe, Infinite)
    {
    }

    /// <summary>A subscription made at <paramref name="subscribe"/> and disposed at <paramref name="unsubscribe"/>.</summary>
    public Subscription(long subscribe, long unsubscribe)
    {
        Subscribe = subscribe;
        Unsubscribe = unsubscribe;
    }

    /// <summary>Virtual time of the subscription.</summary>
    public long Subscribe { get; }

    /// <summary>Virtual time of the disposal, or <see cref="Infinite"/> while still subscribed.</summary>
    public long Unsubscribe { get; }

    /// <summary>True while the subscription has not been disposed.</summary>
    public bool IsActive => Unsubscribe == Infinite;

    /// <inheritdoc />
    public bool Equals(Subscription other) => Subscribe == other.Subscribe && Unsubscribe == other.Unsubscribe;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Subscription other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Subscribe, Unsubscribe);

    /// <summary>Readable form <c>(200, 1000)</c> or <c>(200, Infinite)</c>, used in assertion messages.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"({Subscribe}, {(IsActive ? "Infinite" : Unsubscribe.ToString(CultureInfo.InvariantCulture))})");

    /// <summary>Value equality.</summary>
    public static bool operator ==(Subscription left, Subscription right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Subscription left, Subscription right) => !left.Equals(right);
}
