// The RPC of Go muxado's README, both ways over one TCP connection: the server asks the client, the client asks the
// server, each question on a stream of its own, as newline-delimited JSON that Go's json.NewEncoder/NewDecoder speak.
// Each call is made twice, with System.Text.Json over MuxStream.AsStream() and with the Rx API, and then ten at once.
//
//   dotnet run --project examples/Muxado.Reactive.Rpc                              both sides, 127.0.0.1, this process
//   dotnet run --project examples/Muxado.Reactive.Rpc -- --listen 127.0.0.1:7000   the server side only
//   dotnet run --project examples/Muxado.Reactive.Rpc -- --connect 127.0.0.1:7000  the client side only
//
// The listening side is the muxado server (even stream ids) and the dialing side the client (odd ids); against Go
// muxado (go/main.go), the Go side must take the other role, or both would open streams with the same ids.
using System.Net;
using System.Net.Sockets;
using Muxado.Reactive;
using Muxado.Reactive.Rpc;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;   // end the way the program ends anyway: the sessions close, the halves report
    cancel.Cancel();
};

string? listen = null, connect = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--listen" when i + 1 < args.Length: listen = args[++i]; break;
        case "--connect" when i + 1 < args.Length: connect = args[++i]; break;
        default:
            Console.Error.WriteLine("usage: Muxado.Reactive.Rpc [--listen ADDR:PORT | --connect HOST:PORT]");
            return 2;
    }
}

try
{
    bool allRight;
    if (listen is not null)
    {
        allRight = await ServeOneAsync(IPEndPoint.Parse(listen), onListening: null, cancel.Token);
    }
    else if (connect is not null)
    {
        allRight = await DialAsync(connect, cancel.Token);
    }
    else
    {
        // Both halves at once in this process, exactly as --listen and --connect run them apart.
        var listening = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = ServeOneAsync(new IPEndPoint(IPAddress.Loopback, 0), listening.SetResult, cancel.Token);
        var client = DialAsync((await listening.Task.WaitAsync(cancel.Token)).ToString(), cancel.Token);
        allRight = (await Task.WhenAll(server, client)).All(ok => ok);
    }
    Console.WriteLine(allRight ? "every answer right, every session ended cleanly" : "FAILED");
    return allRight ? 0 : 1;
}
catch (OperationCanceledException)
{
    Console.WriteLine("cancelled");
    return 130;
}
catch (SocketException error)
{
    Console.WriteLine($"connection failed: {error.Message}");
    return 1;
}

// The listening side: the first connection's session (a muxado server), then stop listening.
static async Task<bool> ServeOneAsync(IPEndPoint endPoint, Action<IPEndPoint>? onListening, CancellationToken cancellationToken)
{
    await using var listener = MuxListener.Start(endPoint);   // its sessions are SessionRole.Server
    Console.WriteLine($"server: listening on {listener.LocalEndPoint}");
    onListening?.Invoke(listener.LocalEndPoint);
    await using var session = await listener.AcceptAsync(cancellationToken);
    Console.WriteLine("server: a client connected");
    return await new Conversation(session, "server").RunAsync(endsConversation: false, cancellationToken);
}

// The dialing side: a muxado client, which asks the last question and closes the session.
static async Task<bool> DialAsync(string hostAndPort, CancellationToken cancellationToken)
{
    int colon = hostAndPort.LastIndexOf(':');
    if (colon < 1 || !int.TryParse(hostAndPort.AsSpan(colon + 1), out int port))
    {
        throw new ArgumentException($"not HOST:PORT: {hostAndPort}");
    }
    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
    try
    {
        await socket.ConnectAsync(hostAndPort[..colon].Trim('[', ']'), port, cancellationToken);
    }
    catch
    {
        socket.Dispose();
        throw;
    }
    Console.WriteLine($"client: connected to {socket.RemoteEndPoint}");
    await using var session = MuxSession.Create(socket, SessionRole.Client);   // the session owns the socket
    return await new Conversation(session, "client").RunAsync(endsConversation: true, cancellationToken);
}
