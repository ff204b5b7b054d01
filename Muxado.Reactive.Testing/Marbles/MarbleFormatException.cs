namespace Muxado.Reactive.Testing;

/// <summary>
/// A marble string that cannot be parsed. The message quotes the string and points at the offending character,
/// because a silently misread diagram would make a test check the wrong timeline.
/// </summary>
public sealed class MarbleFormatException : FormatException
{
    /// <summary>Reports <paramref name="reason"/> at <paramref name="position"/> (0-based) of <paramref name="marbles"/>.</summary>
    public MarbleFormatException(string marbles, int position, string reason)
        : base(Describe(marbles, position, reason))
    {
        Marbles = marbles;
        Position = position;
        Reason = reason;
    }

    /// <summary>The whole marble string.</summary>
    public string Marbles { get; }

    /// <summary>0-based index of the offending character (the string's length for a problem found at its end).</summary>
    public int Position { get; }

    /// <summary>What is wrong, without the position decoration.</summary>
    public string Reason { get; }

    private static string Describe(string marbles, int position, string reason) =>
        $"Malformed marbles at position {position}: {reason}{Environment.NewLine}" +
        $"  \"{marbles}\"{Environment.NewLine}" +
        $"   {new string(' ', Math.Max(0, position))}^";
}
