using System.Security.Cryptography;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>Sessions over real loopback TCP.</summary>
public class TcpSessionTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 7 + 3) & 0xff);
        }
        return data;
    }

    private static async Task EchoAsync(MuxStream stream)
    {
        await foreach (var chunk in stream.ReadAllAsync())
        {
            await stream.WriteAsync(chunk);
        }
        await stream.CloseWriteAsync();
    }

    [Test]
    public async Task Echo_of_more_than_a_window_both_directions_at_once()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var serving = Task.Run(async () => await EchoAsync(await pair.Server.AcceptAsync()));
        var stream = pair.Client.Open();
        var data = Pattern(1024 * 1024 + 13);
        var writing = Task.Run(async () =>
        {
            for (int offset = 0; offset < data.Length; offset += 10_000)
            {
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(10_000, data.Length - offset)));
            }
            await stream.CloseWriteAsync();
        });
        using var received = new MemoryStream();
        await stream.AsStream().CopyToAsync(received).WaitAsync(Generous);
        await Task.WhenAll(writing, serving).WaitAsync(Generous);
        Assert.That(SHA256.HashData(received.ToArray()), Is.EqualTo(SHA256.HashData(data)));
    }
}
