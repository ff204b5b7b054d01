using System.Globalization;
using System.Text;
using Muxado.Reactive.Frames;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Reads and writes one frame as marble literal text, the words between <c>[</c> and <c>]</c>:
/// <c>SYN 1</c>, <c>DATA 1 "hi"</c>, <c>FIN 1</c>, <c>SYN|FIN 3 'x'</c>, <c>RST 1 StreamCancelled</c>,
/// <c>WNDINC 1 100</c>, <c>GOAWAY 0 NoError "bye"</c>, <c>UNKNOWN 7 1 0x00</c>.
/// </summary>
/// <remarks>
/// <para>DATA frames are named by their flags (<c>DATA</c> for none, <c>SYN</c>, <c>FIN</c>, <c>SYN|FIN</c>; other bits
/// as <c>0x4</c>, e.g. <c>DATA|0x4</c>), then the stream id and an optional payload. A payload is a string in double
/// or single quotes (UTF-8; escapes <c>\"</c> <c>\'</c> <c>\\</c> <c>\n</c> <c>\r</c> <c>\t</c> <c>\0</c> <c>\xHH</c>),
/// hexadecimal bytes (<c>0x68690A</c>), or a count of zero bytes (<c>&lt;512 bytes&gt;</c>). Error codes are
/// <see cref="ErrorCode"/> names or numbers. A GOAWAY names its last stream id, its code and an optional debug text.
/// Words are case-insensitive.</para>
/// <para>Written text reads back as the same frame, except for a frame the reader truncated (its kept bytes are
/// shown with the length on the wire).</para>
/// </remarks>
internal static class FrameNotation
{
    /// <summary>Reads one frame.</summary>
    /// <exception cref="FormatException">The text is not a frame; the message says which word is wrong.</exception>
    public static Frame Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = Words(text);
        if (words.Count == 0)
        {
            throw new FormatException("An empty frame literal; write e.g. [SYN 1] or [WNDINC 1 100].");
        }
        var kind = words[0].ToUpperInvariant();
        try
        {
            return kind switch
            {
                "RST" => Exactly(words, 3, "RST <stream> <code>", () => Frame.Rst(Id(words[1]), Code(words[2]))),
                "WNDINC" => Exactly(words, 3, "WNDINC <stream> <increment>", () => Frame.WndInc(Id(words[1]), Number(words[2].TrimStart('+'), "increment"))),
                "GOAWAY" => Between(words, 3, 4, "GOAWAY <last stream> <code> [debug]", () => Frame.GoAway(Id(words[1]), Code(words[2]), words.Count == 4 ? Payload(words[3]) : default)),
                "UNKNOWN" => Between(words, 3, 4, "UNKNOWN <type> <stream> [payload]", () => Frame.Unknown(checked((byte)Number(words[1], "type")), FrameFlags.None, Id(words[2]), words.Count == 4 ? Payload(words[3]) : default)),
                _ => Between(words, 2, 3, "DATA|SYN|FIN <stream> [payload]", () => Frame.Data(Id(words[1]), words.Count == 3 ? Payload(words[2]) : default, Flags(words[0]))),
            };
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new FormatException($"'{text}' is not a valid frame: {ex.Message}", ex);
        }
        catch (OverflowException ex)
        {
            throw new FormatException($"'{text}' has a number out of range.", ex);
        }
    }

    /// <summary>Writes <paramref name="frame"/> as literal text (without the brackets).</summary>
    public static string Format(Frame frame) => frame.Type switch
    {
        FrameType.Data => Join(DataKind(frame.Flags), Number(frame.StreamId), PayloadText(frame)),
        FrameType.Rst => Join("RST", Number(frame.StreamId), CodeText(frame.ErrorCode)),
        FrameType.WndInc => Join("WNDINC", Number(frame.StreamId), Number(frame.Increment)),
        FrameType.GoAway => Join("GOAWAY", Number(frame.LastStreamId), CodeText(frame.ErrorCode), PayloadText(frame)),
        _ => Join("UNKNOWN", Number((byte)frame.Type), Number(frame.StreamId), frame.Flags == FrameFlags.None ? null : $"flags=0x{(byte)frame.Flags:X}", PayloadText(frame)),
    };

    private static string Join(params string?[] words) => string.Join(' ', words.Where(w => !string.IsNullOrEmpty(w)));

    private static string Number(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static string DataKind(FrameFlags flags)
    {
        var parts = new List<string>();
        if ((flags & FrameFlags.Syn) != 0)
        {
            parts.Add("SYN");
        }
        if ((flags & FrameFlags.Fin) != 0)
        {
            parts.Add("FIN");
        }
        var other = (byte)(flags & ~(FrameFlags.Syn | FrameFlags.Fin));
        if (parts.Count == 0)
        {
            parts.Add("DATA");
        }
        if (other != 0)
        {
            parts.Add($"0x{other:X}");
        }
        return string.Join('|', parts);
    }

    private static string CodeText(ErrorCode code) =>
        Enum.IsDefined(code) ? code.ToString() : $"0x{(uint)code:X}";

    private static string? PayloadText(Frame frame)
    {
        var bytes = frame.Payload.Span;
        if (frame.IsTruncated)
        {
            return string.Create(CultureInfo.InvariantCulture, $"<{frame.Length} bytes on the wire, {bytes.Length} kept>");
        }
        if (bytes.IsEmpty)
        {
            return null;
        }
        if (bytes.IndexOfAnyExcept((byte)0) < 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"<{bytes.Length} bytes>");
        }
        if (bytes.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0)
        {
            var text = Encoding.ASCII.GetString(bytes);
            return "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        }
        return "0x" + Convert.ToHexString(bytes);
    }

    private static Frame Exactly(List<string> words, int count, string form, Func<Frame> make) => Between(words, count, count, form, make);

    private static Frame Between(List<string> words, int min, int max, string form, Func<Frame> make) =>
        words.Count >= min && words.Count <= max
            ? make()
            : throw new FormatException($"'{string.Join(' ', words)}' has {words.Count} words; the form is [{form}].");

    private static uint Id(string word) => Number(word, "stream id");

    private static uint Number(string word, string what)
    {
        if (word.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(word.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)
            : uint.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out hex))
        {
            return hex;
        }
        throw new FormatException($"'{word}' is not a {what} (a number such as 3 or 0x3).");
    }

    private static ErrorCode Code(string word)
    {
        if (char.IsAsciiDigit(word[0]))
        {
            return (ErrorCode)Number(word, "error code");
        }
        return Enum.TryParse<ErrorCode>(word, ignoreCase: true, out var code)
            ? code
            : throw new FormatException($"'{word}' is not an error code; use a name such as {ErrorCode.StreamCancelled} or a number.");
    }

    private static FrameFlags Flags(string word)
    {
        var flags = FrameFlags.None;
        foreach (var part in word.Split('|'))
        {
            flags |= part.ToUpperInvariant() switch
            {
                "DATA" => FrameFlags.None,
                "SYN" => FrameFlags.Syn,
                "FIN" => FrameFlags.Fin,
                _ when part.StartsWith("0x", StringComparison.OrdinalIgnoreCase) => (FrameFlags)checked((byte)Number(part, "flag")),
                _ => throw new FormatException($"'{word}' is not a frame kind; use DATA, SYN, FIN, SYN|FIN, RST, WNDINC, GOAWAY or UNKNOWN."),
            };
        }
        return flags;
    }

    private static byte[] Payload(string word)
    {
        if (word[0] is '"' or '\'')
        {
            return Unquote(word);
        }
        if (word.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return Convert.FromHexString(word.AsSpan(2));
            }
            catch (FormatException ex)
            {
                throw new FormatException($"'{word}' is not hexadecimal bytes (an even number of hex digits after 0x).", ex);
            }
        }
        if (word.StartsWith('<') && word.EndsWith('>'))
        {
            var inside = word[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (inside.Length == 2 && inside[1] is "bytes" or "byte" && int.TryParse(inside[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                return new byte[count];
            }
        }
        throw new FormatException($"'{word}' is not a payload; write \"text\", 'text', 0xHEX or <N bytes>.");
    }

    /// <summary>The bytes of a quoted string: its text as UTF-8, and each <c>\xHH</c> as that byte.</summary>
    private static byte[] Unquote(string word)
    {
        var quote = word[0];
        if (word.Length < 2 || word[^1] != quote)
        {
            throw new FormatException($"{word} is missing its closing {quote}.");
        }
        var bytes = new List<byte>();
        var run = new StringBuilder();
        void Flush()
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(run.ToString()));
            run.Clear();
        }
        var last = word.Length - 2;
        for (var i = 1; i <= last; i++)
        {
            var c = word[i];
            if (c != '\\')
            {
                run.Append(c);
                continue;
            }
            if (++i > last)
            {
                throw new FormatException($"{word} ends with a lone backslash.");
            }
            switch (word[i])
            {
                case 'n': run.Append('\n'); break;
                case 'r': run.Append('\r'); break;
                case 't': run.Append('\t'); break;
                case '0': run.Append('\0'); break;
                case '\\' or '"' or '\'': run.Append(word[i]); break;
                case 'x' when i + 2 <= last && byte.TryParse(word.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b):
                    Flush();
                    bytes.Add(b);
                    i += 2;
                    break;
                default:
                    throw new FormatException($"'\\{word[i]}' in {word} is not an escape; use \\\" \\' \\\\ \\n \\r \\t \\0 or \\xHH.");
            }
        }
        Flush();
        return [.. bytes];
    }

    /// <summary>Splits on whitespace, keeping quoted strings and <c>&lt;...&gt;</c> whole.</summary>
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }
            var start = i;
            if (text[i] is '"' or '\'')
            {
                var quote = text[i++];
                while (i < text.Length && text[i] != quote)
                {
                    i += text[i] == '\\' ? 2 : 1;
                }
                i = Math.Min(i + 1, text.Length);
            }
            else if (text[i] == '<')
            {
                var close = text.IndexOf('>', i);
                i = close < 0 ? text.Length : close + 1;
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    i++;
                }
            }
            words.Add(text[start..i]);
        }
        return words;
    }
}
