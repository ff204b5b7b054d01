namespace Muxado.Reactive.Testing;

/// <summary>One event of a parsed marble string: its time from the string's first frame, and where it was written.</summary>
/// <param name="Offset">Ticks from the first frame of the string.</param>
/// <param name="Symbol">The character: a value, <c>|</c>, <c>#</c>, or <c>[</c> for a bracketed literal.</param>
/// <param name="Literal">The text between <c>[</c> and <c>]</c> for a literal, else null.</param>
/// <param name="Position">0-based index in the string, for error messages.</param>
internal readonly record struct MarbleEvent(long Offset, char Symbol, string? Literal, int Position);
