using System.Buffers;
using System.Reactive.Linq;
using System.Text.Json;

namespace Muxado.Reactive.Rpc;

/// <summary>
/// One request and its response per stream, as newline-delimited JSON: what Go's <c>json.NewEncoder(stream)</c> writes
/// (a value, then '\n') and <c>json.NewDecoder(stream)</c> reads (values one after another, whitespace between). A
/// stream per call is what makes muxado good for RPC: calls in flight at once need no ids, no pipelining code and no
/// connection pool, and a slow call holds up only its own stream.
/// </summary>
public static class JsonRpc
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    /// <summary>
    /// The Stream idiom: System.Text.Json over <see cref="MuxStream.AsStream"/>, as Go's README does with an encoder
    /// and a decoder over the stream's <c>net.Conn</c>.
    /// </summary>
    public static async Task<Response> AskAsync(MuxSession session, Request request, CancellationToken cancellationToken)
    {
        var stream = session.Open();
        await using var io = stream.AsStream();   // disposing it closes the stream
        await JsonSerializer.SerializeAsync(io, request, cancellationToken: cancellationToken);
        await io.WriteAsync(Newline, cancellationToken);
        // FIN: no second question on this stream. An answerer that reads values one by one (Go's decoder, ours below)
        // does not need it; one that reads to the end does.
        await stream.CloseWriteAsync(cancellationToken);
        // DeserializeAsync reads to the end of the stream: the answerer sends FIN after its answer.
        return await JsonSerializer.DeserializeAsync<Response>(io, cancellationToken: cancellationToken)
            ?? throw new InvalidDataException("the answer was JSON null");
    }

    /// <summary>
    /// The Rx idiom: write the question and FIN, and aggregate <see cref="MuxStream.Received"/> into the answer.
    /// Nothing happens until a subscription (each one asks once); disposing the subscription before the answer came
    /// (a <c>Timeout</c>, a <c>Take</c>, the caller giving up) resets the stream, so the answerer stops working on it.
    /// </summary>
    public static IObservable<Response> Ask(MuxSession session, Request request) => Observable.Defer(() =>
    {
        var stream = session.Open();
        // Received is cold: its bytes wait in the stream (within its window) until this subscribes, after the write.
        var answer = stream.Received
            .Aggregate(new ArrayBufferWriter<byte>(), (all, chunk) =>
            {
                all.Write(chunk.Span);   // one buffer, so that the JSON is contiguous however the chunks fell
                return all;
            })
            .Select(all => JsonSerializer.Deserialize<Response>(all.WrittenSpan)
                ?? throw new InvalidDataException("the answer was JSON null"));
        // The write is a Task turned into an observable, so its failure ends the sequence instead of going unobserved.
        var question = Observable.FromAsync(async cancellationToken =>
        {
            await stream.WriteAsync(Line(request), cancellationToken);
            await stream.CloseWriteAsync(cancellationToken);
        });
        // Reset does nothing to a stream that finished (both FINs, everything read): it only cuts one given up on.
        return question.SelectMany(_ => answer).Finally(() => stream.Reset(ErrorCode.StreamCancelled));
    });

    /// <summary>
    /// Answers the questions on one stream, in order, until the asker's FIN, then closes the stream (FIN after the last
    /// answer). Reads the values one at a time: Go's README asks without FIN and reads the answer before it closes, so
    /// an answerer that read to the end of the stream (DeserializeAsync) would wait for ever.
    /// </summary>
    public static async Task<int> AnswerAsync(MuxStream stream, Func<Request, CancellationToken, Task<Response>> answer, CancellationToken cancellationToken)
    {
        await using var io = stream.AsStream();
        int answered = 0;
        await foreach (var request in JsonSerializer.DeserializeAsyncEnumerable<Request>(io, topLevelValues: true, cancellationToken: cancellationToken))
        {
            var response = await answer(request ?? throw new InvalidDataException("the question was JSON null"), cancellationToken);
            await JsonSerializer.SerializeAsync(io, response, cancellationToken: cancellationToken);
            await io.WriteAsync(Newline, cancellationToken);
            answered++;
        }
        return answered;
    }

    /// <summary>Every stream the peer opens is a call: answered concurrently; one that fails is reported and reset.</summary>
    public static IObservable<int> AnswerEvery(MuxSession session, Func<Request, CancellationToken, Task<Response>> answer, Action<string> report) =>
        session.Incoming.SelectMany(stream => Observable.FromAsync(cancellationToken => AnswerAsync(stream, answer, cancellationToken))
            .Catch((Exception error) =>
            {
                report($"stream {stream.Id} failed: {error.Message}");
                stream.Reset(ErrorCode.InternalError);
                return Observable.Return(0);
            }));

    private static byte[] Line(Request request)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(request);
        return [.. json, .. Newline];
    }
}
