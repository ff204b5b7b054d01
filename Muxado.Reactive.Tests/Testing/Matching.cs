namespace Muxado.Reactive.Tests.Testing;

/// <summary>Equality that lets an <see cref="IExpectation"/> decide, whichever side of the comparison it is on.</summary>
internal static class Matching
{
    /// <summary>
    /// True when <paramref name="left"/> and <paramref name="right"/> are equal; if <paramref name="right"/> is an
    /// expectation, it is asked rather than <paramref name="left"/>, and two expectations are each asked in turn
    /// (a type expectation can match a replayable exception expectation, not the reverse).
    /// </summary>
    public static bool AreEqual<T>(T left, T right)
    {
        var comparer = EqualityComparer<T>.Default;
        return right is IExpectation
            ? comparer.Equals(right, left) || (left is IExpectation && comparer.Equals(left, right))
            : comparer.Equals(left, right);
    }
}
