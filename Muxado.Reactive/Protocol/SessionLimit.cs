namespace Muxado.Reactive.Protocol;

/// <summary>A bound of <see cref="MuxSessionOptions"/> that the peer ran into (named after the option).</summary>
internal enum SessionLimit
{
    /// <summary><see cref="MuxSessionOptions.AcceptBacklog"/>: the stream was refused with AcceptQueueFull.</summary>
    AcceptBacklog,

    /// <summary><see cref="MuxSessionOptions.MaxIncomingStreams"/>: the stream was refused with StreamRefused.</summary>
    MaxIncomingStreams,

    /// <summary><see cref="MuxSessionOptions.MaxBufferedBytes"/>: the stream's window did not fit; refused with StreamRefused.</summary>
    MaxBufferedBytes,

    /// <summary>The reply budget (<see cref="MuxSessionOptions.ReplyBudgetBurst"/>): the session ended with EnhanceYourCalm.</summary>
    ReplyBudget,
}
