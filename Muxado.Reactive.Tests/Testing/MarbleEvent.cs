namespace Muxado.Reactive.Tests.Testing;

/// <summary>One event symbol of a parsed marble string: its time from the string's first frame, and where it was written.</summary>
/// <param name="Offset">Ticks from the first frame of the string.</param>
/// <param name="Symbol">The character: a value, <c>|</c> or <c>#</c>.</param>
/// <param name="Position">0-based index in the string, for error messages.</param>
internal readonly record struct MarbleEvent(long Offset, char Symbol, int Position);
