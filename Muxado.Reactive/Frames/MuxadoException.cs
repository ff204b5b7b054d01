namespace Muxado.Reactive;

/// <summary>
/// Base of every error this library raises for a muxado condition; carries the muxado <see cref="ErrorCode"/>.
/// </summary>
public class MuxadoException : Exception
{
    /// <summary>Creates an exception with a code and message.</summary>
    public MuxadoException(ErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException) => Code = code;

    /// <summary>The muxado error code.</summary>
    public ErrorCode Code { get; }

    /// <inheritdoc />
    public override string ToString() => $"{GetType().Name} ({Code}): {base.ToString()}";
}

/// <summary>
/// A frame from the peer that breaks the wire format (PROTOCOL.md, "Frame errors"). Session-fatal.
/// </summary>
public sealed class MuxadoFrameException : MuxadoException
{
    /// <summary>Creates the exception; <paramref name="message"/> becomes the GOAWAY debug text.</summary>
    public MuxadoFrameException(ErrorCode code, string message) : base(code, message) { }
}
