using System.Net;
using System.Net.Sockets;
using Muxado.Reactive.Tests.Transports;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// What an idle session costs (issue 15, many sessions): a session over a connected TCP socket, with no streams and the
/// default options, holds no write or read buffer, so many of them fit in little memory.
/// </summary>
[TestFixture]
[NonParallelizable] // it measures the whole heap
public sealed class IdleSessionMemoryTests
{
    private const int Pairs = 200;
    private const int BudgetPerEnd = 8 * 1024;

    [Test]
    public async Task An_idle_session_over_TCP_retains_less_than_8_KiB()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(Pairs);
        var sessions = new List<MuxSession>(2 * Pairs);
        try
        {
            long before = GC.GetTotalMemory(forceFullCollection: true);
            for (int i = 0; i < Pairs; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                var accept = listener.AcceptAsync();
                await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(RecordingObserver.Timeout);
                var server = await accept.WaitAsync(RecordingObserver.Timeout);
                sessions.Add(MuxSession.Create(client, SessionRole.Client));
                sessions.Add(MuxSession.Create(server, SessionRole.Server));
            }
            long after = GC.GetTotalMemory(forceFullCollection: true);

            double perEnd = (after - before) / (double)sessions.Count;
            TestContext.Out.WriteLine($"{perEnd:0} managed bytes per idle session end");
            Assert.That(perEnd, Is.LessThan(BudgetPerEnd), $"{perEnd:0} managed bytes per idle session end");
            Assert.That(sessions.Select(s => s.Completion.IsCompleted), Is.All.False, "every session is still up");
        }
        finally
        {
            await Task.WhenAll(sessions.Select(s => s.DisposeAsync().AsTask())).WaitAsync(RecordingObserver.Timeout);
        }
    }
}
