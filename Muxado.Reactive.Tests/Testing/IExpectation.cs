namespace Muxado.Reactive.Tests.Testing;

/// <summary>
/// Implemented by the kit's matching notifications. Comparisons must ask the expectation whether it matches
/// (Rx's own notifications would read a predicate's non-existent value), and assertion messages need a readable
/// description such as <c>OnError(InvalidOperationException or derived)</c>.
/// </summary>
internal interface IExpectation
{
    /// <summary>A short description such as <c>OnNext(&lt;predicate&gt;)</c>.</summary>
    string Describe();
}
