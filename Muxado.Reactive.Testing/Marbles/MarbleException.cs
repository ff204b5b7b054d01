namespace Muxado.Reactive.Testing;

/// <summary>
/// The error a <c>#</c> marble stands for when the test gives none. All instances compare equal under the kit's
/// OnError matching (same type, same message), so an error that passes through an operator unchanged still matches.
/// </summary>
public sealed class MarbleException : Exception
{
    /// <summary>The default error of a <c>#</c> marble.</summary>
    public MarbleException()
        : base("Error from a '#' marble.")
    {
    }

    /// <summary>An error with a custom message.</summary>
    public MarbleException(string message)
        : base(message)
    {
    }

    /// <summary>An error with a custom message and cause.</summary>
    public MarbleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
