using System.Globalization;
using System.Reactive;
using System.Text;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Transports;

/// <summary>
/// Prints frames one per line, the way Go muxado's debug framer traces them (operation, type, stream id, length, flags),
/// in a compact form: <c>-&gt; DATA[3] SYN|FIN len=5</c>, <c>&lt;- WNDINC[3] 1024</c>.
/// </summary>
/// <remarks>
/// <para>The line for each type: <c>DATA[id] FLAGS len=N</c> (no flags when none are set; <c>len=N kept=K</c> for a frame the
/// reader truncated), <c>RST[id] CODE</c>, <c>WNDINC[id] INCREMENT</c>, <c>GOAWAY[0] last=ID CODE "debug"</c> (no text when
/// empty) and <c>UNKNOWN(TYPE)[id] FLAGS len=N</c>. Codes are named as in <see cref="ErrorCode"/>, or printed in hex when the
/// code has no name. Flags other than SYN and FIN are printed in hex. <c>-&gt;</c> marks a frame written, <c>&lt;-</c> one read.</para>
/// <para>A line never contains a line break: control characters and quotes in a GOAWAY's debug text are escaped.</para>
/// </remarks>
public static class FrameFormatter
{
    /// <summary>The arrow for a direction: <c>-&gt;</c> for outbound, <c>&lt;-</c> for inbound.</summary>
    public static string Arrow(FrameDirection direction) => direction == FrameDirection.Outbound ? "->" : "<-";

    /// <summary>A frame on one line, without a direction: <c>DATA[3] FIN len=5</c>.</summary>
    public static string Format(in Frame frame)
    {
        var text = new StringBuilder();
        Append(text, frame);
        return text.ToString();
    }

    /// <summary>A tapped frame on one line: <c>-&gt; DATA[3] FIN len=5</c>.</summary>
    public static string Format(TappedFrame tapped)
    {
        var text = new StringBuilder(Arrow(tapped.Direction)).Append(' ');
        Append(text, tapped.Frame);
        return text.ToString();
    }

    /// <summary>
    /// An observer for <see cref="FrameTap.Tap"/> that writes each frame to <paramref name="writer"/> as a line, prefixed by
    /// <paramref name="name"/> and a space when one is given (Go's debug framer names its sessions the same way).
    /// </summary>
    /// <remarks>The tap calls it one frame at a time, so the writer needs no lock of its own unless others write to it too
    /// (<see cref="TextWriter.Synchronized"/> then). It does not close <paramref name="writer"/>; it flushes it when the tap
    /// completes.</remarks>
    public static IObserver<TappedFrame> WriteTo(TextWriter writer, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        string prefix = string.IsNullOrEmpty(name) ? string.Empty : name + " ";
        return Observer.Create<TappedFrame>(tapped => writer.WriteLine(prefix + Format(tapped)), writer.Flush);
    }

    private static void Append(StringBuilder text, in Frame frame)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (frame.Type)
        {
            case FrameType.Data:
                text.Append(inv, $"DATA[{frame.StreamId}]");
                AppendFlags(text, frame.Flags);
                AppendLength(text, frame);
                break;
            case FrameType.Rst:
                text.Append(inv, $"RST[{frame.StreamId}] ").Append(CodeText(frame.ErrorCode));
                break;
            case FrameType.WndInc:
                text.Append(inv, $"WNDINC[{frame.StreamId}] {frame.Increment}");
                break;
            case FrameType.GoAway:
                text.Append(inv, $"GOAWAY[{frame.StreamId}] last={frame.LastStreamId} ").Append(CodeText(frame.ErrorCode));
                if (!frame.Payload.IsEmpty)
                {
                    text.Append(' ');
                    AppendQuoted(text, frame.DebugText);
                }
                break;
            default:
                text.Append(inv, $"UNKNOWN({(byte)frame.Type})[{frame.StreamId}]");
                AppendFlags(text, frame.Flags);
                AppendLength(text, frame);
                break;
        }
    }

    private static void AppendFlags(StringBuilder text, FrameFlags flags)
    {
        var known = flags & (FrameFlags.Syn | FrameFlags.Fin);
        if (known == (FrameFlags.Syn | FrameFlags.Fin))
        {
            text.Append(" SYN|FIN");
        }
        else if (known == FrameFlags.Syn)
        {
            text.Append(" SYN");
        }
        else if (known == FrameFlags.Fin)
        {
            text.Append(" FIN");
        }
        var other = (byte)(flags & ~(FrameFlags.Syn | FrameFlags.Fin));
        if (other != 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" flags=0x{other:X}");
        }
    }

    private static void AppendLength(StringBuilder text, in Frame frame)
    {
        text.Append(CultureInfo.InvariantCulture, $" len={frame.Length}");
        if (frame.IsTruncated)
        {
            text.Append(CultureInfo.InvariantCulture, $" kept={frame.Payload.Length}");
        }
    }

    private static string CodeText(ErrorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : "0x" + ((uint)code).ToString("X", CultureInfo.InvariantCulture);

    private static void AppendQuoted(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case < ' ' or '\u007F' or '\u2028' or '\u2029' or '\u0085':
                    text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }
}
