namespace Muxado.Reactive.Protocol;

/// <summary>The core's bookkeeping for one stream. Owned by <see cref="ProtocolCore"/>; no locking of its own.</summary>
internal sealed class StreamState(uint id, bool isLocal, long sendWindow, IStreamSink? sink)
{
    public uint Id { get; } = id;
    /// <summary>Opened by this side.</summary>
    public bool IsLocal { get; } = isLocal;
    /// <summary>Where the stream's events go; set right after a peer-opened stream is registered.</summary>
    public IStreamSink Sink { get; set; } = sink!;

    /// <summary>Bytes this side may still send before the peer returns credit.</summary>
    public long SendWindow { get; set; } = sendWindow;
    /// <summary>Received and not yet consumed by the application.</summary>
    public int RecvBuffered { get; set; }
    /// <summary>Consumed and not yet credited back with WNDINC.</summary>
    public int RecvUncredited { get; set; }

    /// <summary>A locally opened stream whose SYN has not gone out yet (only when empty SYNs are off).</summary>
    public bool SynPending { get; set; }
    /// <summary>We sent a DATA frame on it (data or FIN): a reset from the peer may be its answer.</summary>
    public bool DataSent { get; set; }
    public bool LocalFinSent { get; set; }
    public bool RemoteFinReceived { get; set; }

    public bool BothSidesFinished => LocalFinSent && RemoteFinReceived;
}
