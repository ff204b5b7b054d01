namespace Muxado.Reactive.Testing;

/// <summary>The syntax-level result of reading a marble string, before times are anchored and values mapped.</summary>
/// <param name="Events">Event symbols in written order, times relative to the first frame.</param>
/// <param name="Caret">Offset of <c>^</c>, if present.</param>
/// <param name="Bang">Offset of <c>!</c>, if present (subscription marbles only).</param>
internal sealed record ParsedMarbles(IReadOnlyList<MarbleEvent> Events, long? Caret, long? Bang);
