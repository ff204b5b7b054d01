namespace Muxado.Reactive.Protocol;

/// <summary>What <see cref="ProtocolCore.Send"/> did.</summary>
internal readonly record struct SendResult(int BytesSent, ErrorCode Error)
{
    public bool Failed => Error != ErrorCode.NoError;
    public static SendResult Fail(ErrorCode code) => new(0, code);
}
