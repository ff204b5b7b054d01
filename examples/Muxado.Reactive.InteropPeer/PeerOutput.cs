using System.Globalization;

namespace Muxado.Reactive.Interop;

/// <summary>
/// Writes whole lines to the peer's output from any thread and flushes each one, so that a process
/// reading the peer's stdout (a script waiting for <c>listening ...</c>) sees it at once.
/// </summary>
public sealed class PeerOutput(TextWriter writer)
{
    private readonly TextWriter _writer = writer ?? throw new ArgumentNullException(nameof(writer));
    private readonly Lock _gate = new();

    /// <summary>Writes one line and flushes it.</summary>
    public void Line(string text)
    {
        lock (_gate)
        {
            _writer.WriteLine(text);
            _writer.Flush();
        }
    }

    /// <summary>How a session ended, as one line: local error and message, the peer's GOAWAY code and debug text.</summary>
    public static string DescribeEnd(SessionEnd end, string? peer = null)
    {
        ArgumentNullException.ThrowIfNull(end);
        string remote = end.RemoteError is { } code
            ? $"remote={code} debug=\"{end.RemoteDebug}\""
            : "remote=none (no GOAWAY from the peer)";
        string who = peer is null ? string.Empty : $"peer={peer} ";
        return $"session ended {who}local={end.LocalError} message=\"{end.Message}\" {remote} clean={(end.IsClean ? "yes" : "no")}";
    }

    /// <summary>A heartbeat event as PEER.md prints it.</summary>
    public static string DescribeHeartbeat(HeartbeatEvent beat) =>
        beat.IsTimeout
            ? "heartbeat timeout"
            : string.Create(CultureInfo.InvariantCulture, $"heartbeat latency={beat.Latency.TotalMilliseconds:0.###}ms");
}
