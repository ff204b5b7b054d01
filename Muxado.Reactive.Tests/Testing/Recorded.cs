namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// A value stamped with the virtual time (in ticks) at which it happened: the unit in which the kit records
/// and compares what an observable did.
/// </summary>
/// <typeparam name="T">The recorded value, usually a <see cref="System.Reactive.Notification{T}"/>.</typeparam>
/// <remarks>
/// Equality is by value so that expected and actual recordings can be compared element by element. When one value
/// is a matching notification made by <see cref="ReactiveTest"/> (predicate, exception type or message), that one
/// decides, whichever side of the comparison it sits on. Because a predicate cannot be hashed,
/// <see cref="GetHashCode"/> uses only the time.
/// </remarks>
public readonly struct Recorded<T> : IEquatable<Recorded<T>>
{
    /// <summary>Records <paramref name="value"/> at <paramref name="time"/>.</summary>
    /// <param name="time">Virtual time in ticks (1 tick = 100 ns, as for <see cref="TimeSpan"/>).</param>
    /// <param name="value">What happened at that time.</param>
    public Recorded(long time, T value)
    {
        Time = time;
        Value = value;
    }

    /// <summary>Virtual time in ticks at which <see cref="Value"/> was recorded.</summary>
    public long Time { get; }

    /// <summary>What was recorded.</summary>
    public T Value { get; }

    /// <summary>True when both times are equal and the values are equal, or one is an expectation the other matches.</summary>
    public bool Equals(Recorded<T> other)
    {
        if (Time != other.Time)
        {
            return false;
        }
        return Matching.AreEqual(Value, other.Value);
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Recorded<T> other && Equals(other);

    /// <summary>Hash of the time only, because matching values (predicates) cannot produce consistent hashes.</summary>
    public override int GetHashCode() => Time.GetHashCode();

    /// <summary>Readable form <c>value@time</c>, e.g. <c>OnNext(42)@210</c>, used in assertion messages.</summary>
    public override string ToString() => $"{NotificationText.Format(Value)}@{Time}";

    /// <summary>Value equality, see <see cref="Equals(Recorded{T})"/>.</summary>
    public static bool operator ==(Recorded<T> left, Recorded<T> right) => left.Equals(right);

    /// <summary>Value inequality, see <see cref="Equals(Recorded{T})"/>.</summary>
    public static bool operator !=(Recorded<T> left, Recorded<T> right) => !left.Equals(right);
}
