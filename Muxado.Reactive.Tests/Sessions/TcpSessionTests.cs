using System.Security.Cryptography;
using Pattern = Muxado.Reactive.Interop.Pattern;
using static Muxado.Reactive.Tests.Sessions.StreamIO;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>Sessions over real loopback TCP.</summary>
public class TcpSessionTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);


    [Test]
    public async Task Echo_of_more_than_a_window_both_directions_at_once()
    {
        await using var pair = await TcpSessionPair.ConnectAsync();
        var serving = Task.Run(async () => await EchoAsync(await pair.Server.AcceptAsync()));
        var stream = pair.Client.Open();
        var data = Pattern.Create(1024 * 1024 + 13);
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
