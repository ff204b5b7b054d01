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
        if (options.Transport == PeerTransport.WebSocket)
        {
            return await WebSocketServe.RunAsync(options, log, onListening,
                (transport, peer, stop) => ServeSessionAsync(transport, peer, options, log, stop), cancellationToken).ConfigureAwait(false);
        }
        using var certificate = options.Transport == PeerTransport.Tls ? PeerConnections.MakeServerCertificate() : null;
        Socket listener;
        try
        {
            var address = await PeerConnections.ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
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
        if (certificate is not null)
        {
            log.Line($"tls sha256={certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}");
        }
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
                connections.Add(ServeConnectionAsync(socket, options, certificate, log, cancellationToken));
            }
        }
        await connections.WhenAllAsync().ConfigureAwait(false);
        log.Line("stopped");
        return ExitOk;
    }

    private static async Task ServeConnectionAsync(Socket socket, PeerOptions options, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate,
        PeerOutput log, CancellationToken stop)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "unknown";
        socket.NoDelay = true;
        FrameTransport transport;
        try
        {
            transport = await PeerConnections.AcceptedAsync(socket, options, certificate, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException or OperationCanceledException)
        {
            log.Line($"tls handshake failed peer={peer}: {ex.Message}");
            socket.Dispose();
            return;
        }
        await ServeSessionAsync(transport, peer, options, log, stop).ConfigureAwait(false);
    }

    /// <summary>Runs one served session on <paramref name="transport"/> until it ends (or <paramref name="stop"/>).</summary>
    private static async Task ServeSessionAsync(FrameTransport transport, string peer, PeerOptions options, PeerOutput log, CancellationToken stop)
    {
        var session = CreateSession(transport, options, tracePrefix: peer);
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
        FrameTransport transport;
        string connection;
        try
        {
            (transport, connection) = await PeerConnections.DialAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException or OperationCanceledException
                                       or System.Security.Authentication.AuthenticationException or IOException
                                       or System.Net.WebSockets.WebSocketException)
        {
            string why = ex is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? $"no connection within {options.Timeout.TotalSeconds:0.###}s"
                : ex.Message;
            log.Line($"error: cannot connect to {options.Address}: {why}");
            log.Line($"0 passed, {CheckRunner.Names.Count} failed");
            return ExitFailed;
        }

        log.Line($"connected {connection} role={RoleName(options.Role)}");
        var session = CreateSession(transport, options, tracePrefix: null);
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
    /// A session on <paramref name="transport"/>; with <see cref="PeerOptions.Trace"/>, the transport is tapped and each
    /// frame printed as a line, after <paramref name="tracePrefix"/> (the peer's address when serving many).
    /// </summary>
    private static MuxSession CreateSession(FrameTransport transport, PeerOptions options, string? tracePrefix)
    {
        var sessionOptions = options.SessionOptions;
        if (options.Trace)
        {
            transport = transport.Tap(FrameFormatter.WriteTo(options.TraceWriter ?? Console.Error, tracePrefix), sessionOptions.Scheduler);
        }
        return options.Role == SessionRole.Client ? MuxSession.Client(transport, sessionOptions) : MuxSession.Server(transport, sessionOptions);
    }

    /// <summary>One synchronized trace writer for every session of a run, so that their lines never interleave.</summary>
    private static PeerOptions WithSharedTraceWriter(PeerOptions options) =>
        options.Trace ? options with { TraceWriter = TextWriter.Synchronized(options.TraceWriter ?? Console.Error) } : options;

    private static string RoleName(SessionRole role) => role == SessionRole.Server ? "server" : "client";
}
