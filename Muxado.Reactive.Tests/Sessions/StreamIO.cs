namespace Muxado.Reactive.Tests.Sessions;

/// <summary>What many session tests do with a stream: echo it, or read it to its end.</summary>
internal static class StreamIO
{
    /// <summary>Reads the stream to its end, writing each chunk back, then half-closes.</summary>
    public static async Task EchoAsync(MuxStream stream)
    {
        await foreach (var chunk in stream.ReadAllAsync())
        {
            await stream.WriteAsync(chunk);
        }
        await stream.CloseWriteAsync();
    }

    /// <summary>Every byte the stream receives until the peer's FIN.</summary>
    public static async Task<byte[]> ReadToEndAsync(MuxStream stream)
    {
        using var buffer = new MemoryStream();
        await foreach (var chunk in stream.ReadAllAsync())
        {
            buffer.Write(chunk.Span);
        }
        return buffer.ToArray();
    }

    /// <summary>Opens a stream, sends <paramref name="text"/> and FIN, and returns what came back before the peer's FIN.</summary>
    public static async Task<string> EchoThroughAsync(MuxSession client, string text)
    {
        var stream = client.Open();
        var reading = ReadToEndAsync(stream);
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(text));
        await stream.CloseWriteAsync();
        return System.Text.Encoding.ASCII.GetString(await reading.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
