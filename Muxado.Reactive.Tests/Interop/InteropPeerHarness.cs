using System.Net;
using Muxado.Reactive.Interop;

namespace Muxado.Reactive.Tests.Interop;

/// <summary>An in-process <c>serve</c> on 127.0.0.1 with a free port; stopped (as by Ctrl+C) when disposed.</summary>
internal sealed class ServedPeer : IAsyncDisposable
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource _stop = new();
    private readonly LineRecorder _output = new();
    private Task<int>? _serving;
    private int? _exitCode;

    private ServedPeer()
    {
    }

    public int Port { get; private set; }

    /// <summary>Starts <c>serve --addr 127.0.0.1:0 ARGS</c> and waits until it listens.</summary>
    public static async Task<ServedPeer> StartAsync(params string[] args)
    {
        var peer = new ServedPeer();
        var options = ArgumentParser.Parse(["serve", "--addr", "127.0.0.1:0", .. args]);
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        peer._serving = Task.Run(() => InteropPeer.RunServeAsync(options, peer._output, endPoint => listening.TrySetResult(endPoint), peer._stop.Token));
        var first = await Task.WhenAny(listening.Task, peer._serving).WaitAsync(Generous);
        if (first != listening.Task)
        {
            throw new InvalidOperationException($"serve ended without listening (exit {await peer._serving}): {peer._output}");
        }
        var endPoint = await listening.Task;
        Assert.That(endPoint.Address, Is.EqualTo(IPAddress.Loopback));
        peer.Port = endPoint.Port;
        return peer;
    }

    /// <summary>Stops serving (sessions close cleanly) and returns the exit code; the output is complete afterwards.</summary>
    public async Task<int> StopAsync()
    {
        if (_exitCode is { } code)
        {
            return code;
        }
        await _stop.CancelAsync();
        _exitCode = await _serving!.WaitAsync(Generous);
        return _exitCode.Value;
    }

    /// <summary>The lines printed so far; read it after <see cref="StopAsync"/> to see them all.</summary>
    public string[] Lines => _output.Lines;

    /// <summary>Waits until serve has printed a line that matches (for example the end of a session).</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match) => _output.WaitForLineAsync(match).WaitAsync(Generous);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _stop.Dispose();
            await _output.DisposeAsync();
        }
    }

    /// <summary>Runs <c>dial --addr 127.0.0.1:PORT ARGS</c> in-process; returns its exit code and lines.</summary>
    public static async Task<(int ExitCode, string[] Lines)> DialAsync(int port, params string[] args)
    {
        var options = ArgumentParser.Parse(["dial", "--addr", $"127.0.0.1:{port}", .. args]);
        using var output = new StringWriter();
        // Each check has its own deadline (60 s by default); this only guards against a hang of the whole run.
        int exitCode = await Task.Run(() => InteropPeer.RunDialAsync(options, output)).WaitAsync(TimeSpan.FromMinutes(9));
        return (exitCode, Split(output.ToString()));
    }

    public static string[] Split(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>A writer that keeps whole lines and lets a test wait for one, so no test has to guess with a sleep.</summary>
internal sealed class LineRecorder : TextWriter
{
    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly System.Text.StringBuilder _partial = new();

    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

    public string[] Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public override void Write(char value)
    {
        List<TaskCompletionSource<string>> found = [];
        string? line = null;
        lock (_gate)
        {
            if (value != '\n')
            {
                _partial.Append(value);
                return;
            }
            line = _partial.ToString().TrimEnd('\r');
            _partial.Clear();
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                _waiters.Remove(waiter);
                found.Add(waiter.Found);
            }
        }
        foreach (var waiter in found)
        {
            waiter.TrySetResult(line);
        }
    }

    public Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        lock (_gate)
        {
            var seen = _lines.FirstOrDefault(match);
            if (seen is not null)
            {
                return Task.FromResult(seen);
            }
            var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, found));
            return found.Task;
        }
    }
}
