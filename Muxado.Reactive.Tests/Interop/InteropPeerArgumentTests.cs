using Muxado.Reactive.Interop;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>The interop peer's command line (PEER.md, "Command line").</summary>
public class InteropPeerArgumentTests
{
    [TestCase("200ms", 200)]
    [TestCase("1s", 1000)]
    [TestCase("50ms", 50)]
    [TestCase("1.5s", 1500)]
    [TestCase("0s", 0)]
    public void Durations_take_ms_and_s_suffixes(string text, int milliseconds)
    {
        Assert.That(ArgumentParser.ParseDuration(text), Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [TestCase("200")]
    [TestCase("1m")]
    [TestCase("ms")]
    [TestCase("s")]
    [TestCase("-1s")]
    [TestCase("1,5s")]
    [TestCase("fast")]
    public void Anything_else_is_not_a_duration(string text)
    {
        Assert.That(() => ArgumentParser.ParseDuration(text, "--hold"),
            Throws.TypeOf<UsageException>().With.Message.Contains("--hold").And.Message.Contains("ms or s"));
    }

    [Test]
    public void Dial_options_are_read_in_either_form()
    {
        var options = ArgumentParser.Parse(["dial", "--addr", "127.0.0.1:9000", "--role=server", "--heartbeat",
            "--hb-interval", "200ms", "--parallel", "8", "--bulk=1048576", "--hold", "1s", "--timeout", "30s"]);

        Assert.That(options, Is.EqualTo(new PeerOptions
        {
            Mode = PeerMode.Dial,
            Host = "127.0.0.1",
            Port = 9000,
            Role = SessionRole.Server,
            Heartbeat = true,
            HeartbeatInterval = TimeSpan.FromMilliseconds(200),
            Parallel = 8,
            Bulk = 1048576,
            Hold = TimeSpan.FromSeconds(1),
            Timeout = TimeSpan.FromSeconds(30),
        }));
    }

    [Test]
    public void Syn_with_data_is_a_switch_of_both_modes_that_turns_off_the_empty_syn()
    {
        var serve = ArgumentParser.Parse(["serve", "--syn-with-data"]);
        var dial = ArgumentParser.Parse(["dial", "--syn-with-data"]);

        Assert.That((serve.SynWithFirstWrite, dial.SynWithFirstWrite), Is.EqualTo((true, true)));
        Assert.That(serve.SessionOptions.OpenWithEmptySyn, Is.False);
        Assert.That(ArgumentParser.Parse(["dial"]).SessionOptions.OpenWithEmptySyn, Is.True, "the default sends the SYN at Open()");
        Assert.That(() => ArgumentParser.Parse(["dial", "--syn-with-data=yes"]),
            Throws.TypeOf<UsageException>().With.Message.EqualTo("--syn-with-data takes no value"));
    }

    [Test]
    public void Trace_is_a_switch_of_both_modes()
    {
        Assert.That((ArgumentParser.Parse(["serve", "--trace"]).Trace, ArgumentParser.Parse(["dial", "--trace"]).Trace), Is.EqualTo((true, true)));
        Assert.That(ArgumentParser.Parse(["dial"]).Trace, Is.False);
        Assert.That(() => ArgumentParser.Parse(["serve", "--trace=all"]),
            Throws.TypeOf<UsageException>().With.Message.EqualTo("--trace takes no value"));
        Assert.That(ArgumentParser.Usage, Does.Contain("[--trace]"));
    }

    [Test]
    public async Task Trace_prints_each_frame_to_stderr_and_leaves_stdout_as_PEER_md_says()
    {
        await using var served = await ServedPeer.StartAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exitCode = await InteropPeer.RunAsync(["dial", "--addr", $"127.0.0.1:{served.Port}", "--trace", "--bulk", "65536", "--parallel", "1"], output, error)
            .WaitAsync(ServedPeer.Generous);

        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk), output.ToString());
        var traceLine = new System.Text.RegularExpressions.Regex(@"^(->|<-) (DATA|WNDINC|RST|GOAWAY|UNKNOWN\(\d+\))\[\d+\]");
        var trace = ServedPeer.Split(error.ToString());
        Assert.That(trace, Has.All.Match(traceLine.ToString()));
        Assert.That(trace[0], Is.EqualTo("-> DATA[3] SYN len=0"), "the first check's stream opens the trace");
        Assert.That(trace, Has.Some.StartsWith("<- DATA[3]"));
        Assert.That(trace.Last(l => l.StartsWith("->", StringComparison.Ordinal)), Does.StartWith("-> GOAWAY[0]"), "the clean close is the last frame written");
        Assert.That(ServedPeer.Split(output.ToString()), Has.None.Match(traceLine.ToString()));
        Assert.That(output.ToString(), Does.Contain("7 passed, 0 failed"));
    }

    [Test]
    public void Tls_and_ws_choose_the_transport_and_only_one_of_them_at_a_time()
    {
        Assert.That(ArgumentParser.Parse(["serve", "--tls"]).Transport, Is.EqualTo(PeerTransport.Tls));
        Assert.That(ArgumentParser.Parse(["dial", "--ws"]).Transport, Is.EqualTo(PeerTransport.WebSocket));
        Assert.That(ArgumentParser.Parse(["dial"]).Transport, Is.EqualTo(PeerTransport.Tcp));
        var pin = "ab:" + new string('c', 62);
        Assert.That(ArgumentParser.Parse(["dial", "--tls", "--tls-pin", pin]).TlsPin, Is.EqualTo("AB" + new string('C', 62)));
        Assert.That(() => ArgumentParser.Parse(["dial", "--tls", "--ws"]), Throws.TypeOf<UsageException>().With.Message.Contains("one of --tls and --ws"));
        Assert.That(() => ArgumentParser.Parse(["dial", "--tls-pin", new string('a', 64)]), Throws.TypeOf<UsageException>().With.Message.EqualTo("--tls-pin needs --tls"));
        Assert.That(() => ArgumentParser.Parse(["dial", "--tls", "--tls-pin", "abc"]), Throws.TypeOf<UsageException>().With.Message.Contains("64 hex digits"));
        Assert.That(() => ArgumentParser.Parse(["serve", "--tls", "--tls-pin", new string('a', 64)]), Throws.TypeOf<UsageException>().With.Message.Contains("option of dial"));
    }

    [Test]
    public void Defaults_follow_PEER_md()
    {
        var serve = ArgumentParser.Parse(["serve"]);
        var dial = ArgumentParser.Parse(["dial"]);

        Assert.That(serve.Address, Is.EqualTo("127.0.0.1:7777"));
        Assert.That(serve.Role, Is.EqualTo(SessionRole.Server));
        Assert.That(serve.Heartbeat, Is.False);
        Assert.That(dial.Address, Is.EqualTo("127.0.0.1:7777"));
        Assert.That(dial.Role, Is.EqualTo(SessionRole.Client));
        Assert.That(dial.Parallel, Is.EqualTo(16));
        Assert.That(dial.Bulk, Is.EqualTo(8 * 1024 * 1024));
        Assert.That(dial.Timeout, Is.EqualTo(TimeSpan.FromSeconds(60)));
    }

    [TestCase(new string[0], "missing mode")]
    [TestCase(new[] { "listen" }, "unknown mode 'listen'")]
    [TestCase(new[] { "dial", "--role", "boss" }, "--role: 'boss' is not a role")]
    [TestCase(new[] { "dial", "--parallel" }, "--parallel needs a value")]
    [TestCase(new[] { "dial", "--parallel", "0" }, "--parallel: '0' is not a whole number")]
    [TestCase(new[] { "dial", "--bulk", "8MiB" }, "--bulk: '8MiB' is not a whole number")]
    [TestCase(new[] { "dial", "--hold", "1" }, "--hold: '1' is not a duration")]
    [TestCase(new[] { "dial", "--hb-interval", "0ms" }, "--hb-interval must be more than 0")]
    [TestCase(new[] { "dial", "--addr", "localhost" }, "--addr: 'localhost' is not HOST:PORT")]
    [TestCase(new[] { "dial", "--addr", "127.0.0.1:70000" }, "port from 0 to 65535")]
    [TestCase(new[] { "dial", "--addr", "127.0.0.1:0" }, "dial needs a port other than 0")]
    [TestCase(new[] { "serve", "--bulk", "5" }, "--bulk is an option of dial, not of serve")]
    [TestCase(new[] { "serve", "--verbose" }, "unknown option '--verbose'")]
    [TestCase(new[] { "serve", "--role", "client", "--role", "server" }, "--role is given more than once")]
    [TestCase(new[] { "serve", "7777" }, "unexpected argument '7777'")]
    [TestCase(new[] { "serve", "--heartbeat=yes" }, "--heartbeat takes no value")]
    public async Task Bad_arguments_give_a_clear_error_and_a_non_zero_exit(string[] args, string message)
    {
        Assert.That(() => ArgumentParser.Parse(args), Throws.TypeOf<UsageException>().With.Message.Contains(message));

        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await InteropPeer.RunAsync(args, output, error);

        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitUsage));
        Assert.That(error.ToString(), Does.StartWith("error: ").And.Contains(message).And.Contains("usage:"));
        Assert.That(output.ToString(), Is.Empty);
    }

    [Test]
    public async Task Help_prints_the_usage_and_succeeds()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exitCode = await InteropPeer.RunAsync(["--help"], output, error);

        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitOk));
        Assert.That(output.ToString(), Does.Contain("serve [--addr").And.Contains("dial  [--addr"));
        Assert.That(error.ToString(), Is.Empty);
    }

    [Test]
    public async Task Serve_on_an_address_in_use_says_so_and_exits_non_zero()
    {
        await using var served = await ServedPeer.StartAsync();
        using var output = new StringWriter();

        int exitCode = await InteropPeer.RunServeAsync(ArgumentParser.Parse(["serve", "--addr", $"127.0.0.1:{served.Port}"]), output)
            .WaitAsync(ServedPeer.Generous);

        Assert.That(exitCode, Is.EqualTo(InteropPeer.ExitUsage));
        Assert.That(output.ToString(), Does.StartWith($"error: cannot listen on 127.0.0.1:{served.Port}"));
    }
}
