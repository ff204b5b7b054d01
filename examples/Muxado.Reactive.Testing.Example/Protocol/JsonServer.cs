using System.Reactive.Linq;

namespace Muxado.Reactive.Testing.Example.Protocol;

/// <summary>
/// Serves <see cref="JsonRequest"/>s: one per stream, answered by <c>handler</c>, whose observable may take its
/// time (a database, a slow computation); a call the client abandons is dropped.
/// </summary>
public sealed class JsonServer(MuxSession session, Func<JsonRequest, IObservable<int>> handler) : IDisposable
{
    private IDisposable? _serving;

    /// <summary>Starts answering the streams the client opens.</summary>
    public JsonServer Start()
    {
        _serving = session.Incoming.Subscribe(stream => _ = AnswerAsync(stream), _ => { });
        return this;
    }

    public void Dispose() => _serving?.Dispose();

    private async Task AnswerAsync(MuxStream stream)
    {
        try
        {
            var request = new List<byte>();
            await foreach (var chunk in stream.ReadAllAsync())
            {
                request.AddRange(chunk.Span);
            }
            var call = JsonRequest.Parse(request.ToArray());
            JsonReply reply;
            try
            {
                reply = new JsonReply(call.Id, await handler(call).FirstAsync(), null);
            }
            catch (InvalidOperationException ex)
            {
                reply = new JsonReply(call.Id, null, ex.Message);
            }
            await stream.WriteAsync(reply.ToBytes());
            await stream.CloseWriteAsync();
        }
        catch (MuxadoException)
        {
            // The client reset the stream (it gave up on this attempt) or the session ended.
        }
    }
}
