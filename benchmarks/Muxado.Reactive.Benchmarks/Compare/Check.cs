namespace Muxado.Reactive.Benchmarks.Compare;

/// <summary>Sanity checks on what a run moved: a benchmark that silently lost bytes would report nonsense.</summary>
internal static class Check
{
    public static void Equal<T>(T expected, T actual, string what)
        where T : IEquatable<T>
    {
        if (!expected.Equals(actual))
        {
            throw new InvalidOperationException($"{what}: expected {expected}, got {actual}");
        }
    }
}
