using System.Globalization;
using System.Text.RegularExpressions;

namespace Muxado.Reactive.Rpc;

/// <summary>A question. Go's encoding/json names the field "Query" as System.Text.Json does, so both read the other's.</summary>
public sealed record Request(string Query);

/// <summary>An answer ("Answer" on the wire).</summary>
public sealed record Response(string Answer);

/// <summary>
/// What either side knows and how long it thinks. The Go program in go/ answers the same questions the same way, so
/// each side checks the other's answers.
/// </summary>
public static partial class DeepThought
{
    public const string UltimateQuestion = "What is the meaning of life, the universe and everything?";

    /// <summary>
    /// The last question of a conversation: the dialing side asks it when it has no more questions, and the answer
    /// comes only once the answering side has had all of its own questions answered. Neither side can know by itself
    /// when the other has nothing more to ask, so it is said, as an RPC of its own.
    /// </summary>
    public const string AnythingElse = "That is all from me. Anything else?";

    public const string NothingElse = "No, that is all.";

    /// <summary>Every answer takes this long, so that questions asked at once show that they are answered at once.</summary>
    public static readonly TimeSpan ThinkingTime = TimeSpan.FromMilliseconds(100);

    public static string Times(int a, int b) => $"What is {a} times {b}?";

    /// <summary>The answer that the asker checks it got.</summary>
    public static string Expected(string query) =>
        query == UltimateQuestion ? "42"
        : query == AnythingElse ? NothingElse
        : TimesPattern().Match(query) is { Success: true } m
            ? (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture)
            : "I do not know.";

    /// <summary>Thinks, then answers; <see cref="AnythingElse"/> is answered when <paramref name="doneAsking"/> completes.</summary>
    public static async Task<Response> AnswerAsync(Request request, Task doneAsking, CancellationToken cancellationToken)
    {
        if (request.Query == AnythingElse)
        {
            await doneAsking.WaitAsync(cancellationToken);
        }
        else
        {
            await Task.Delay(ThinkingTime, cancellationToken);
        }
        return new Response(Expected(request.Query));
    }

    [GeneratedRegex(@"^What is (\d{1,4}) times (\d{1,4})\?$")]
    private static partial Regex TimesPattern();
}
