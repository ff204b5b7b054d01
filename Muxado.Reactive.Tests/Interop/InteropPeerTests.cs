using System.Net;
using System.Net.Sockets;
using Muxado.Reactive.Interop;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>
/// The interop peer (PEER.md) against itself over real loopback TCP, in-process: serve in one role, dial in
/// the other, all seven checks. Bulk is 1 MiB to keep the run short; the 1 MiB + 13 echo and the callback
/// with N = 70000 are as specified.
/// </summary>
public class InteropPeerTests
{
    private static readonly string[] ExpectedChecks = ["echo-small", "echo-large", "echo-empty", "sink", "source", "callback", "parallel"];

    [TestCase("server", "client")]
    [TestCase("client", "server")]
    public async Task Dial_passes_all_seven_checks_against_serve(string serveRole, string dialRole)
    {
        await using var served = await ServedPeer.StartAsync("--role", serveRole);

        var (exitCode, lines) = await ServedPeer.DialAsync(served.Port, "--role", dialRole, "--bulk", "1048576", "--parallel", "4");

        var checkLines = lines.Where(l => l.StartsWith("PASS ", StringComparison.Ordinal) || l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.That(checkLines, Has.Length.EqualTo(7), string.Join("\n", lines));
        Assert.That(checkLines.Select(l => l.Split(' ')[1]), Is.EqualTo(ExpectedChecks));
        Assert.That(checkLines, Has.All.StartWith("PASS "), string.Join("\n", lines));
        Assert.That(checkLines[3], Does.Contain("1048576 bytes").And.Match(@"[0-9.]+ MB/s"));
        Assert.That(checkLines[4], Does.Contain("1048576 bytes").And.Match(@"[0-9.]+ MB/s"));
        Assert.That(checkLines[1], Does.Contain("1048589 bytes"));
        Assert.That(checkLines[5], Does.Contain("N=70000"));
        Assert.That(checkLines[6], Does.Contain("4 workers x 20").And.Match(@"[0-9]+ streams/s"));
        Assert.That(lines, Has.Some.Match("^session ended local=NoError .*clean=yes$"));
        Assert.That(lines[^1], Is.EqualTo("7 passed, 0 failed"));
        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk));

        // The dialer closed with GOAWAY NoError and then its EOF: a clean end on the serving side.
        var ended = await served.WaitForLineAsync(l => l.StartsWith("session ended ", StringComparison.Ordinal));
        Assert.That(ended, Does.Match(@"^session ended peer=127\.0\.0\.1:[0-9]+ local=PeerEOF .* remote=NoError debug=""no error"" clean=yes$"));
        Assert.That(await served.StopAsync(), Is.EqualTo(InteropPeer.ExitOk));
        Assert.That(served.Lines[^1], Is.EqualTo("stopped"));
        Assert.That(served.Lines[0], Does.Match(@"^listening 127\.0\.0\.1:[0-9]+$"));
        Assert.That(served.Lines, Has.Some.StartWith($"session started peer=127.0.0.1:").And.EndWith($"role={serveRole}"));
        Assert.That(served.Lines, Has.None.Contains("failed"), string.Join("\n", served.Lines));
    }

    [TestCase("server", "client")]
    [TestCase("client", "server")]
    public async Task Concurrent_openers_whose_syn_goes_with_the_first_write_pass_the_parallel_check_on_both_sides(string serveRole, string dialRole)
    {
        // Issue 9: with the SYN sent at the first write (as Go does), 32 workers put SYNs on the wire out of id order,
        // in both directions (the parallel check's echo streams and the server's own opens for the callback).
        await using var served = await ServedPeer.StartAsync("--role", serveRole, "--syn-with-data");

        var (exitCode, lines) = await ServedPeer.DialAsync(served.Port, "--role", dialRole, "--bulk", "65536", "--parallel", "32", "--syn-with-data");

        var checkLines = lines.Where(l => l.StartsWith("PASS ", StringComparison.Ordinal) || l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.That(checkLines.Select(l => l.Split(' ')[1]), Is.EqualTo(ExpectedChecks), string.Join("\n", lines));
        Assert.That(checkLines, Has.All.StartWith("PASS "), string.Join("\n", lines));
        Assert.That(checkLines[6], Does.Contain("32 workers x 20"));
        Assert.That(lines[^1], Is.EqualTo("7 passed, 0 failed"));
        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk));
        var ended = await served.WaitForLineAsync(l => l.StartsWith("session ended ", StringComparison.Ordinal));
        Assert.That(ended, Does.Contain("local=PeerEOF").And.Contain("remote=NoError"), "no protocol error on the serving side");
        Assert.That(await served.StopAsync(), Is.EqualTo(InteropPeer.ExitOk));
    }

    [TestCase("--tls", "server", "client")]
    [TestCase("--tls", "client", "server")]
    [TestCase("--ws", "server", "client")]
    [TestCase("--ws", "client", "server")]
    public async Task Two_peers_pass_all_seven_checks_over_TLS_and_over_a_WebSocket(string transport, string serveRole, string dialRole)
    {
        await using var served = await ServedPeer.StartAsync("--role", serveRole, transport);
        string pin = transport == "--tls"
            ? (await served.WaitForLineAsync(l => l.StartsWith("tls sha256=", StringComparison.Ordinal)))["tls sha256=".Length..]
            : "";
        string[] pinning = transport == "--tls" ? ["--tls-pin", pin] : [];

        var (exitCode, lines) = await ServedPeer.DialAsync(served.Port, ["--role", dialRole, "--bulk", "1048576", "--parallel", "4", transport, .. pinning]);

        Assert.That(lines[^1], Is.EqualTo("7 passed, 0 failed"), string.Join("\n", lines));
        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk));
        Assert.That(lines[0], transport == "--tls" ? Does.Contain("over TLS").And.Contain("(pinned)") : Does.Contain("over WebSocket ws://"));
        var ended = await served.WaitForLineAsync(l => l.StartsWith("session ended ", StringComparison.Ordinal));
        Assert.That(ended, Does.Contain("clean=yes"));
        Assert.That(await served.StopAsync(), Is.EqualTo(InteropPeer.ExitOk));
    }

    [Test]
    public async Task A_dial_over_TLS_that_pins_another_certificate_fails_with_a_clear_error()
    {
        await using var served = await ServedPeer.StartAsync("--tls");

        var (exitCode, lines) = await ServedPeer.DialAsync(served.Port, "--tls", "--tls-pin", new string('A', 64));

        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitFailed));
        Assert.That(lines[0], Does.StartWith("error: cannot connect to").And.Contain("certificate"), string.Join("\n", lines));
        Assert.That(lines[^1], Is.EqualTo("0 passed, 7 failed"));
        // The server may not see a failure at all: in TLS 1.3 its side of the handshake is done before the client checks.
        Assert.That(await served.StopAsync(), Is.EqualTo(InteropPeer.ExitOk));
    }

    [Test]
    public async Task Heartbeats_print_their_latency_on_both_sides()
    {
        await using var served = await ServedPeer.StartAsync("--role", "server", "--heartbeat", "--hb-interval", "50ms");

        var (exitCode, lines) = await ServedPeer.DialAsync(served.Port,
            "--role", "client", "--heartbeat", "--hb-interval", "50ms", "--hold", "300ms", "--bulk", "65536", "--parallel", "2");

        Assert.That(lines, Has.Some.Match(@"^heartbeat latency=[0-9.]+ms$"), string.Join("\n", lines));
        Assert.That(lines, Has.None.StartWith("heartbeat stopped"));
        Assert.That(lines[^1], Is.EqualTo("7 passed, 0 failed"));
        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk));
        await served.StopAsync();
        Assert.That(served.Lines, Has.Some.Match(@"^heartbeat latency=[0-9.]+ms$"), string.Join("\n", served.Lines));
    }

    [Test]
    public async Task A_stream_of_an_unknown_type_is_read_to_FIN_and_discarded()
    {
        await using var served = await ServedPeer.StartAsync("--role", "server");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, served.Port)).WaitAsync(ServedPeer.Generous);
        await using var session = MuxSession.Create(socket, SessionRole.Client);

        var stream = await session.OpenTypedAsync(0x1234);
        await stream.WriteAsync(new byte[300_000]); // more than a window: the peer must keep reading
        await stream.CloseWriteAsync();
        var received = 0;
        await foreach (var chunk in stream.ReadAllAsync().WithCancellation(new CancellationTokenSource(ServedPeer.Generous).Token))
        {
            received += chunk.Length;
        }

        Assert.That(received, Is.Zero);
    }

    [Test]
    public async Task Against_a_peer_that_never_answers_every_check_fails_on_its_deadline_instead_of_hanging()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen(1);
        var accepting = silent.AcceptAsync();

        var (exitCode, lines) = await ServedPeer.DialAsync(((IPEndPoint)silent.LocalEndPoint!).Port,
            "--timeout", "300ms", "--bulk", "65536", "--parallel", "2");
        using var accepted = await accepting.WaitAsync(ServedPeer.Generous);

        var checkLines = lines.Where(l => l.StartsWith("PASS ", StringComparison.Ordinal) || l.StartsWith("FAIL ", StringComparison.Ordinal)).ToArray();
        Assert.That(checkLines, Has.Length.EqualTo(7), string.Join("\n", lines));
        Assert.That(checkLines, Has.All.StartWith("FAIL ").And.Contains("timed out after 0.3s"));
        Assert.That(lines[^1], Is.EqualTo("0 passed, 7 failed"));
        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitFailed));
    }

    [Test]
    public async Task Dial_with_nobody_listening_fails_with_a_clear_error()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port; // bound, never listening: connections are refused
            var (exitCode, lines) = await ServedPeer.DialAsync(port);

            Assert.That(lines[0], Does.StartWith($"error: cannot connect to 127.0.0.1:{port}"));
            Assert.That(lines[^1], Is.EqualTo("0 passed, 7 failed"));
            Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitFailed));
        }
    }

    [Test]
    public void The_pattern_is_i_times_7_plus_3_at_any_offset()
    {
        Assert.That(Pattern.Create(5), Is.EqualTo(new byte[] { 3, 10, 17, 24, 31 }));
        Assert.That(Pattern.At(37), Is.EqualTo((byte)((37 * 7 + 3) & 0xff)));
        var expected = Enumerable.Range(1000, 600).Select(i => Pattern.At(i)).ToArray();
        Assert.That(Pattern.Slice(1000, 600).ToArray(), Is.EqualTo(expected));
        Assert.That(Pattern.FirstMismatch(expected, 1000), Is.EqualTo(-1));
        expected[123] ^= 1;
        Assert.That(Pattern.FirstMismatch(expected, 1000), Is.EqualTo(123));
    }
}
