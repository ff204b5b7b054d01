namespace Muxado.Reactive.Frames;

/// <summary>The frame type: the high 4 bits of header byte 3.</summary>
/// <remarks>Values 4..15 are unknown types; they are kept as their number and skipped by sessions.</remarks>
public enum FrameType : byte
{
    /// <summary>RST: resets one stream; body is a 4-byte error code.</summary>
    Rst = 0x0,
    /// <summary>DATA: stream bytes, possibly with SYN and FIN flags.</summary>
    Data = 0x1,
    /// <summary>WNDINC: returns flow-control credit; body is a 4-byte increment.</summary>
    WndInc = 0x2,
    /// <summary>GOAWAY: the session accepts no new streams; body is last id, error code and debug text.</summary>
    GoAway = 0x3,
}

/// <summary>Frame flags: the low 4 bits of header byte 3.</summary>
[Flags]
public enum FrameFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>FIN: the sender will send no more data on this stream.</summary>
    Fin = 0x1,
    /// <summary>SYN: this frame opens the stream.</summary>
    Syn = 0x2,
}
