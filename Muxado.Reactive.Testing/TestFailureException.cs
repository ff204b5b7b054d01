namespace Muxado.Reactive.Testing;

/// <summary>
/// A failure reported by the test kit: recorded notifications or frames that differ from what the test expected,
/// or a virtual-time run that did not come to rest within its bound. The message says what differs, with a marble
/// diagram of both timelines where they can be drawn.
/// </summary>
/// <remarks>
/// The kit depends on no test framework; every framework reports an unexpected exception as a failed test, with
/// this message.
/// </remarks>
public sealed class TestFailureException : Exception
{
    /// <summary>A failure with the default message.</summary>
    public TestFailureException()
        : base("A virtual-time expectation failed.")
    {
    }

    /// <summary>A failure described by <paramref name="message"/>.</summary>
    public TestFailureException(string message)
        : base(message)
    {
    }

    /// <summary>A failure described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public TestFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
