using System.Diagnostics;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;

namespace Muxado.Reactive.Rpc;

/// <summary>
/// One side of the conversation, the same for the listening and the dialing side (and for the Go program in go/):
/// answers every question the peer asks while it asks its own, over the one session, in both directions at once.
/// </summary>
public sealed class Conversation(MuxSession session, string name)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly TaskCompletionSource _doneAsking = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Asks, answers, and ends: the dialing side (<paramref name="endsConversation"/>) asks the last question and then
    /// closes the session; the other side waits for that. True when every answer was right and the session ended cleanly.
    /// </summary>
    public async Task<bool> RunAsync(bool endsConversation, CancellationToken cancellationToken)
    {
        // Answering starts at once: the peer may ask before we do. It completes when the session ends cleanly.
        var answering = JsonRpc.AnswerEvery(session, (request, token) => DeepThought.AnswerAsync(request, _doneAsking.Task, token), Say)
            .Sum()
            .ToTask(cancellationToken);

        bool allRight;
        try
        {
            allRight = await AskEverythingAsync(cancellationToken);
        }
        finally
        {
            _doneAsking.TrySetResult();   // lets our answer to the peer's last question go
        }

        if (endsConversation)
        {
            var last = new Request(DeepThought.AnythingElse);
            allRight &= await CheckAsync("Stream", [last], async () => [await JsonRpc.AskAsync(session, last, cancellationToken)]);
            Say("closing the session");
            await session.DisposeAsync();   // GOAWAY NoError, then the connection closes
        }

        var end = await session.Completion.WaitAsync(cancellationToken);
        try
        {
            Say($"answered {await answering} questions; session ended: {end}");
        }
        catch (MuxadoSessionException error)
        {
            // The session ended with an error (the peer vanished, a protocol error): its code says which.
            Say($"the session ended with an error: {error.End}");
        }
        return allRight && end.IsClean;
    }

    private async Task<bool> AskEverythingAsync(CancellationToken cancellationToken)
    {
        var ultimate = new Request(DeepThought.UltimateQuestion);
        bool allRight = await CheckAsync("Stream + System.Text.Json", [ultimate],
            async () => [await JsonRpc.AskAsync(session, ultimate, cancellationToken)]);
        allRight &= await CheckAsync("Rx, Received aggregated", [ultimate],
            async () => [await JsonRpc.Ask(session, ultimate).Timeout(CallTimeout).ToTask(cancellationToken)]);

        // Ten at once, each way: ten streams in flight on one connection. Every answer takes 100 ms to think, so the ten
        // come back in about 100 ms, where one connection answering in turn would take a second.
        var questions = Enumerable.Range(1, 10).Select(i => new Request(DeepThought.Times(i, 7))).ToArray();
        allRight &= await CheckAsync("Stream + System.Text.Json", questions,
            async () => await Task.WhenAll(questions.Select(question => JsonRpc.AskAsync(session, question, cancellationToken))));
        // Zip subscribes to all ten at once and yields their answers in the order of the questions.
        allRight &= await CheckAsync("Rx, Received aggregated", questions,
            async () => await Observable.Zip(questions.Select(question => JsonRpc.Ask(session, question))).Timeout(CallTimeout).ToTask(cancellationToken));
        return allRight;
    }

    /// <summary>Asks, and checks every answer; a failed call is reported, not thrown (Ctrl+C still cancels).</summary>
    private async Task<bool> CheckAsync(string how, IReadOnlyList<Request> questions, Func<Task<IList<Response>>> ask)
    {
        var clock = Stopwatch.StartNew();
        string what = questions.Count == 1 ? $"\"{questions[0].Query}\"" : $"{questions.Count} questions at once";
        try
        {
            var answers = await ask();
            int right = questions.Zip(answers).Count(pair => pair.Second.Answer == DeepThought.Expected(pair.First.Query));
            string result = questions.Count == 1 ? $"\"{answers[0].Answer}\"" : $"{right} of {questions.Count} right";
            Say($"asked {what} ({how}): {result} in {clock.ElapsedMilliseconds} ms{(right == questions.Count ? "" : ", WRONG")}");
            return right == questions.Count;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Say($"asked {what} ({how}): failed: {Describe(error)}");
            return false;
        }
    }

    private static string Describe(Exception error) => error switch
    {
        MuxadoSessionException session => $"the session ended: {session.End}",
        MuxadoException muxado => $"{muxado.Code}: {muxado.Message}",
        IOException { InnerException: Exception inner } => Describe(inner),   // the Stream bridge wraps muxado errors
        _ => $"{error.GetType().Name}: {error.Message}",
    };

    private void Say(string line) => Console.WriteLine($"{name}: {line}");
}
