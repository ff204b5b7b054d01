using System.Globalization;
using System.Text.RegularExpressions;

namespace Muxado.Reactive.Testing;

/// <summary>
/// Reads the marble syntax described on <see cref="Marbles"/> into events with tick offsets. Pure syntax: value
/// mapping and anchoring to absolute time happen in <see cref="Marbles"/>; a bracketed literal such as
/// <c>[WNDINC 1 100]</c> is passed on as text for its reader (<see cref="FrameMarbles"/>).
/// </summary>
internal sealed partial class MarbleParser
{
    private readonly string _text;
    private readonly long _ticksPerFrame;
    private readonly MarbleMode _mode;
    private readonly List<MarbleEvent> _events = [];
    private long _time;
    private long? _caret;
    private int _caretPosition;
    private long? _bang;
    private int _groupOpen = -1;
    private long _groupTime;
    private int _groupLength;

    private MarbleParser(string text, long ticksPerFrame, MarbleMode mode)
    {
        _text = text;
        _ticksPerFrame = ticksPerFrame;
        _mode = mode;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="MarbleFormatException"/> on malformed input.</summary>
    public static ParsedMarbles Parse(string text, long ticksPerFrame, MarbleMode mode)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ticksPerFrame);
        var parser = new MarbleParser(text, ticksPerFrame, mode);
        parser.Run();
        return new ParsedMarbles(parser._events, parser._caret, parser._bang);
    }

    [GeneratedRegex(@"\G(?<n>[0-9]+(?:\.[0-9]+)?)(?<unit>ms|s|m|tk)(?=\s|$)", RegexOptions.CultureInvariant)]
    private static partial Regex Progression();

    private void Run()
    {
        var i = 0;
        while (i < _text.Length)
        {
            var c = _text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiDigit(c) && (i == 0 || char.IsWhiteSpace(_text[i - 1])) && Progression().Match(_text, i) is { Success: true } match)
            {
                if (_groupOpen >= 0)
                {
                    throw Error(i, "a time progression cannot be inside a group; a group is a single instant");
                }
                _time = Advance(_time, ProgressionTicks(match, i), i);
                i += match.Length;
            }
            else if (c == '[')
            {
                i = Literal(i);
            }
            else
            {
                Symbol(c, i);
                i++;
            }
        }
        if (_groupOpen >= 0)
        {
            throw Error(_groupOpen, "this '(' is never closed");
        }
        if (_mode == MarbleMode.Subscription && _caret is null)
        {
            throw Error(_text.Length, "subscription marbles need a '^' for the subscription point");
        }
    }

    private void Symbol(char c, int position)
    {
        if (_groupOpen >= 0)
        {
            switch (c)
            {
                case '(':
                    throw Error(position, "groups cannot be nested");
                case '-':
                    throw Error(position, "'-' cannot be inside a group; a group is a single instant");
                case ']':
                    throw Error(position, "']' without a matching '['");
                case ')':
                    if (_groupLength == 1)
                    {
                        throw Error(position, "empty group '()'");
                    }
                    // RxJS rule: after the group, time has advanced one frame per character, both parentheses included.
                    _time = Advance(_groupTime, (_groupLength + 1) * _ticksPerFrame, position);
                    _groupOpen = -1;
                    return;
                default:
                    _groupLength++;
                    Event(c, position, _groupTime);
                    return;
            }
        }
        switch (c)
        {
            case '-':
                _time = Advance(_time, _ticksPerFrame, position);
                return;
            case '(':
                _groupOpen = position;
                _groupTime = _time;
                _groupLength = 1;
                return;
            case ')':
                throw Error(position, "')' without a matching '('");
            case ']':
                throw Error(position, "']' without a matching '['");
            default:
                Event(c, position, _time);
                _time = Advance(_time, _ticksPerFrame, position);
                return;
        }
    }

    /// <summary>Reads <c>[...]</c> starting at <paramref name="open"/>; quotes may contain <c>]</c>. Returns the index after <c>]</c>.</summary>
    private int Literal(int open)
    {
        char? quote = null;
        for (var i = open + 1; i < _text.Length; i++)
        {
            var c = _text[i];
            if (quote is { } q)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == q)
                {
                    quote = null;
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == ']')
            {
                var literal = _text[(open + 1)..i].Trim();
                if (literal.Length == 0)
                {
                    throw Error(open, "empty literal '[]'");
                }
                if (_mode == MarbleMode.Subscription)
                {
                    throw Error(open, "a literal in subscription marbles, which only allow '-', '^', '!', groups, time progressions and spaces");
                }
                Token(new MarbleEvent(0, '[', literal, open));
                return i + 1;
            }
        }
        throw Error(open, quote is null ? "this '[' is never closed" : "a quote in this literal is never closed");
    }

    /// <summary>Places a value token at the current time: in a group at the group's instant, else taking one frame.</summary>
    private void Token(MarbleEvent token)
    {
        if (_groupOpen >= 0)
        {
            _groupLength++;
            _events.Add(token with { Offset = _groupTime });
        }
        else
        {
            _events.Add(token with { Offset = _time });
            _time = Advance(_time, _ticksPerFrame, token.Position);
        }
    }

    private void Event(char c, int position, long time)
    {
        switch (c)
        {
            case '^':
                if (_mode == MarbleMode.Cold)
                {
                    throw Error(position, "'^' (subscription point) makes no sense in a cold observable, whose time starts at each subscription");
                }
                if (_caret is not null)
                {
                    throw Error(position, string.Create(CultureInfo.InvariantCulture, $"a second '^'; the first is at position {_caretPosition}"));
                }
                _caret = time;
                _caretPosition = position;
                return;
            case '!':
                if (_mode != MarbleMode.Subscription)
                {
                    throw Error(position, "'!' (unsubscription point) is only allowed in subscription marbles");
                }
                if (_caret is null)
                {
                    throw Error(position, "'!' before the '^' it would end");
                }
                if (_bang is not null)
                {
                    throw Error(position, "a second '!'");
                }
                _bang = time;
                return;
            default:
                if (_mode == MarbleMode.Subscription)
                {
                    throw Error(position, $"'{c}' in subscription marbles, which only allow '-', '^', '!', groups, time progressions and spaces");
                }
                _events.Add(new MarbleEvent(time, c, null, position));
                return;
        }
    }

    private long ProgressionTicks(Match match, int position)
    {
        var unitTicks = match.Groups["unit"].Value switch
        {
            "ms" => TimeSpan.TicksPerMillisecond,
            "s" => TimeSpan.TicksPerSecond,
            "m" => TimeSpan.TicksPerMinute,
            _ => 1L,
        };
        try
        {
            var ticks = decimal.Parse(match.Groups["n"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) * unitTicks;
            if (decimal.Truncate(ticks) != ticks)
            {
                throw Error(position, $"time progression '{match.Value}' is not a whole number of ticks");
            }
            return decimal.ToInt64(ticks);
        }
        catch (OverflowException)
        {
            throw Error(position, $"time progression '{match.Value}' is too long");
        }
    }

    private long Advance(long time, long ticks, int position)
    {
        try
        {
            return checked(time + ticks);
        }
        catch (OverflowException)
        {
            throw Error(position, "the marbles run past the end of virtual time");
        }
    }

    private MarbleFormatException Error(int position, string reason) => new(_text, position, reason);
}
