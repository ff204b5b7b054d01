using System.Net;
using System.Net.Sockets;
using Muxado.Reactive.Transports;

namespace Muxado.Reactive.Interop;

/// <summary>
/// The interop peer of PEER.md: <c>serve</c> listens and serves the behaviours on every connection;
/// <c>dial</c> connects, serves the behaviours too and runs the seven checks as the opener. Both run
/// in-process (tests call them directly) as well as from <c>Program</c>.
/// </summary>
public static class InteropPeer
{
    /// <summary>Exit code of a run whose checks all passed, or of a serve that was stopped.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code of a dial with a failed check (or no connection).</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code of a command line the peer cannot run, or an address it cannot listen on.</summary>
    public const int ExitUsage = 2;

    /// <summary>Parses <paramref name="args"/> and runs the mode they name; usage errors go to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (ArgumentParser.IsHelp(args))
        {
            await output.WriteLineAsync(ArgumentParser.Usage).ConfigureAwait(false);
            return ExitOk;
        }
        PeerOptions options;
        try
        {
            options = ArgumentParser.Parse(args);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            await error.WriteLineAsync(ArgumentParser.Usage).ConfigureAwait(false);
            return ExitUsage;
        }
        if (options.Trace)
        {
            options = options with { TraceWriter = error };
        }
        return options.Mode == PeerMode.Serve
            ? await RunServeAsync(options, output, cancellationToken).ConfigureAwait(false)
            : await RunDialAsync(options, output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Listens on the options' address, prints <c>listening HOST:PORT</c>, and runs a session in the options'
    /// role on every accepted connection, serving the behaviours, until <paramref name="cancellationToken"/>
    /// is cancelled; then closes every session cleanly (GOAWAY NoError) and returns <see cref="ExitOk"/>.
    /// </summary>
    /// <param name="options">The address, role and heartbeat settings.</param>
    /// <param name="output">Where the lines go (<c>listening</c>, <c>heartbeat</c>, <c>session ended</c>).</param>
    /// <param name="cancellationToken">Stops serving.</param>
    public static Task<int> RunServeAsync(PeerOptions options, TextWriter output, CancellationToken cancellationToken = default) =>
        RunServeAsync(options, output, onListening: null, cancellationToken);

    /// <summary>
    /// <see cref="RunServeAsync(PeerOptions, TextWriter, CancellationToken)"/>, also telling
    /// <paramref name="onListening"/> the bound address (its port when 0 was asked for) once connections are accepted.
    /// </summary>
    public static async Task<int> RunServeAsync(PeerOptions options, TextWriter output, Action<IPEndPoint>? onListening, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = WithSharedTraceWriter(options);
        var log = new PeerOutput(output);
        Socket listener;
        try
        {
            var address = await ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
            listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(new IPEndPoint(address, options.Port));
                listener.Listen(512);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            log.Line($"error: cannot listen on {options.Address}: {ex.Message}");
            return ExitUsage;
        }

        var local = (IPEndPoint)listener.LocalEndPoint!;
        log.Line($"listening {local}");
        onListening?.Invoke(local);
        var connections = new TaskSet();
        using (listener)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException ex)
                {
                    log.Line($"accept failed: {ex.Message}");
                    continue;
                }
                connections.Add(ServeConnectionAsync(socket, options, log, cancellationToken));
            }
        }
        await connections.WhenAllAsync().ConfigureAwait(false);
        log.Line("stopped");
        return ExitOk;
    }

    private static async Task ServeConnectionAsync(Socket socket, PeerOptions options, PeerOutput log, CancellationToken stop)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "unknown";
        socket.NoDelay = true;
        var session = CreateSession(socket, options, tracePrefix: peer);
        var behaviours = BehaviourServer.Start(session, options.Timeout, log.Line);
        log.Line($"session started peer={peer} role={RoleName(options.Role)}");
        var heartbeat = options.Heartbeat ? await HeartbeatPrinter.StartAsync(session, options, log).ConfigureAwait(false) : null;
        SessionEnd end;
        using (stop.Register(() => _ = session.DisposeAsync().AsTask()))
        {
            end = await session.Completion.ConfigureAwait(false);
        }
        if (heartbeat is not null)
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
        }
        log.Line(PeerOutput.DescribeEnd(end, peer));
        await behaviours.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Connects, runs a session in the options' role serving the behaviours, runs the seven checks printing
    /// <c>PASS</c>/<c>FAIL</c> lines, holds the session open for <see cref="PeerOptions.Hold"/>, closes it
    /// cleanly, prints how it ended and <c>N passed, N failed</c>. Returns <see cref="ExitFailed"/> if any
    /// check failed.
    /// </summary>
    public static async Task<int> RunDialAsync(PeerOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = WithSharedTraceWriter(options);
        var log = new PeerOutput(output);
        Socket socket;
        try
        {
            socket = await ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException or OperationCanceledException)
        {
            string why = ex is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? $"no connection within {options.Timeout.TotalSeconds:0.###}s"
                : ex.Message;
            log.Line($"error: cannot connect to {options.Address}: {why}");
            log.Line($"0 passed, {CheckRunner.Names.Count} failed");
            return ExitFailed;
        }

        log.Line($"connected {socket.LocalEndPoint} -> {socket.RemoteEndPoint} role={RoleName(options.Role)}");
        var session = CreateSession(socket, options, tracePrefix: null);
        var behaviours = BehaviourServer.Start(session, options.Timeout, log.Line);
        var heartbeat = options.Heartbeat ? await HeartbeatPrinter.StartAsync(session, options, log).ConfigureAwait(false) : null;

        var settings = new CheckSettings { Parallel = options.Parallel, Bulk = options.Bulk, Timeout = options.Timeout };
        var results = await new CheckRunner(session, settings).RunAllAsync(result => log.Line(result.ToString()), cancellationToken).ConfigureAwait(false);

        if (options.Hold > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(options.Hold, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped early: close now.
            }
        }
        if (heartbeat is not null)
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
        }
        await session.DisposeAsync().ConfigureAwait(false); // GOAWAY NoError, then the transport closes
        var end = await session.Completion.ConfigureAwait(false);
        log.Line(PeerOutput.DescribeEnd(end));
        await behaviours.DisposeAsync().ConfigureAwait(false);

        int passed = results.Count(r => r.Passed);
        int failed = results.Count - passed;
        log.Line($"{passed} passed, {failed} failed");
        return failed == 0 ? ExitOk : ExitFailed;
    }

    /// <summary>
    /// A session on <paramref name="socket"/>; with <see cref="PeerOptions.Trace"/>, its transport is tapped and each frame
    /// printed as a line, after <paramref name="tracePrefix"/> (the peer's address when serving many).
    /// </summary>
    private static MuxSession CreateSession(Socket socket, PeerOptions options, string? tracePrefix)
    {
        var sessionOptions = options.SessionOptions;
        if (!options.Trace)
        {
            return MuxSession.Create(socket, options.Role, sessionOptions);
        }
        var trace = options.TraceWriter ?? Console.Error;
        var transport = FrameTransport.FromSocket(socket, new FrameTransportOptions { ReaderLimits = sessionOptions.ReaderLimits })
            .Tap(FrameFormatter.WriteTo(trace, tracePrefix), sessionOptions.Scheduler);
        return options.Role == SessionRole.Client ? MuxSession.Client(transport, sessionOptions) : MuxSession.Server(transport, sessionOptions);
    }

    /// <summary>One synchronized trace writer for every session of a run, so that their lines never interleave.</summary>
    private static PeerOptions WithSharedTraceWriter(PeerOptions options) =>
        options.Trace ? options with { TraceWriter = TextWriter.Synchronized(options.TraceWriter ?? Console.Error) } : options;

    private static async Task<Socket> ConnectAsync(PeerOptions options, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        var address = await ResolveAsync(options.Host, deadline.Token).ConfigureAwait(false);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, options.Port), deadline.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new ArgumentException($"host '{host}' has no address");
    }

    private static string RoleName(SessionRole role) => role == SessionRole.Server ? "server" : "client";
}
