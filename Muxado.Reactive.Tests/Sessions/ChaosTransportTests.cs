using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>
/// Two sessions over a byte relay that cuts each direction's byte stream at random points and delays the pieces
/// (issue 10, "Tests"): frames arrive split anywhere, headers included, and at uneven pace, while thousands of streams
/// opened from both sides carry data both ways, every stream checked by SHA-256.
/// </summary>
/// <remarks>
/// <para>The relay copies each direction from one <see cref="Pipe"/> to another in pieces of 1 byte to 4 KiB, each piece
/// flushed on its own, with a yield after one piece in ten and a 1–2 ms delay after one in a hundred. The delays only
/// change the pace; no outcome depends on them, and nothing else waits on time.</para>
/// <para>Sizes (chosen so that the test takes a few seconds on a loaded 2-core machine): 10,000 streams, 5,000 opened by
/// each side, at most 48 in flight per side; each direction's payload is 0–1 KiB for 70 % of streams, 1–8 KiB for 25 %
/// and 8–64 KiB for 5 % (about 65 MB in all, both directions). Readers alternate between <c>ReadAllAsync</c>,
/// <c>Received</c> and <c>AsStream</c>; writers send their payload in one to four writes.</para>
/// <para>Everything random comes from the seed printed at the start (and in every failure message): the sizes, the
/// payloads, the relay's cuts and delays. The threads' interleaving is not in the seed.</para>
/// </remarks>
public class ChaosTransportTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);
    private const int Seed = 20_260_111;
    private const int Streams = 10_000;
    private const int InFlightPerSide = 48;

    [Test]
    public async Task Ten_thousand_streams_both_ways_over_a_relay_that_cuts_and_delays_the_bytes_arrive_intact()
    {
        TestContext.Out.WriteLine($"chaos seed {Seed}");
        var clock = Stopwatch.StartNew();
        var clientOut = new Pipe();
        var toServer = new Pipe();
        var serverOut = new Pipe();
        var toClient = new Pipe();
        var relays = new[]
        {
            Task.Run(() => RelayAsync(clientOut.Reader, toServer.Writer, new Random(Seed + 1))),
            Task.Run(() => RelayAsync(serverOut.Reader, toClient.Writer, new Random(Seed + 2))),
        };
        var client = MuxSession.Create(new DuplexPipe(toClient.Reader, clientOut.Writer), SessionRole.Client);
        var server = MuxSession.Create(new DuplexPipe(toServer.Reader, serverOut.Writer), SessionRole.Server);

        var accepted = new ConcurrentQueue<Task<string?>>();
        using var clientIncoming = client.Incoming.Subscribe(stream => accepted.Enqueue(Task.Run(() => ExchangeAsync(stream, isOpener: false))));
        using var serverIncoming = server.Incoming.Subscribe(stream => accepted.Enqueue(Task.Run(() => ExchangeAsync(stream, isOpener: false))));

        int next = 0;
        var failures = new ConcurrentQueue<string>();
        async Task OpenStreamsAsync(MuxSession session)
        {
            while (Interlocked.Increment(ref next) <= Streams)
            {
                if (await ExchangeAsync(session.Open(), isOpener: true) is { } failure)
                {
                    failures.Enqueue(failure);
                }
            }
        }
        var openers = Enumerable.Range(0, 2 * InFlightPerSide)
            .Select(i => Task.Run(() => OpenStreamsAsync(i % 2 == 0 ? client : server)))
            .ToArray();

        try
        {
            await Task.WhenAll(openers).WaitAsync(Generous);
            Assert.That(accepted, Has.Count.EqualTo(Streams), $"seed {Seed}: every stream reached the other side's Incoming");
            foreach (var failure in await Task.WhenAll(accepted).WaitAsync(Generous))
            {
                if (failure is not null)
                {
                    failures.Enqueue(failure);
                }
            }
            Assert.That(failures.Take(20), Is.Empty, $"seed {Seed}: {failures.Count} of {2 * Streams} stream directions differ");
            Assert.That((client.Completion.IsCompleted, server.Completion.IsCompleted), Is.EqualTo((false, false)), $"seed {Seed}: both sessions alive");
            TestContext.Out.WriteLine($"{Streams} streams in {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            await Task.WhenAll(client.DisposeAsync().AsTask(), server.DisposeAsync().AsTask()).WaitAsync(Generous);
            var moved = await Task.WhenAll(relays).WaitAsync(Generous);
            TestContext.Out.WriteLine($"relayed {moved[0]:N0} bytes client to server, {moved[1]:N0} server to client");
        }
    }

    /// <summary>
    /// Sends this side's payload of the stream and reads the other side's, both derived from the seed and the stream id;
    /// returns null when what arrived is exactly what the other side sent, or what went wrong.
    /// </summary>
    private static async Task<string?> ExchangeAsync(MuxStream stream, bool isOpener)
    {
        uint id = stream.Id;
        string side = isOpener ? "opener" : "acceptor";
        try
        {
            int sendSeed = StreamPayloads.SeedOf(Seed, id, isOpener);
            var payload = StreamPayloads.Create(sendSeed, SizeOf(sendSeed));
            var reading = (id / 2 % 3) switch
            {
                0 => HashWithReadAllAsync(stream),
                1 => HashWithReceivedAsync(stream),
                _ => HashWithAsStreamAsync(stream, new Random(sendSeed)),
            };
            await WriteInPiecesAsync(stream, payload, new Random(sendSeed));
            await stream.CloseWriteAsync();
            var (length, hash) = await reading.WaitAsync(Generous);
            await stream.DisposeAsync();

            int expectedSeed = StreamPayloads.SeedOf(Seed, id, !isOpener);
            var expected = StreamPayloads.Create(expectedSeed, SizeOf(expectedSeed));
            var expectedHash = SHA256.HashData(expected);
            return length == expected.Length && hash.AsSpan().SequenceEqual(expectedHash)
                ? null
                : $"seed {Seed}, stream {id} ({side}): received {length} bytes, SHA-256 {StreamPayloads.Hex(hash)}…; " +
                  $"expected {expected.Length} bytes, {StreamPayloads.Hex(expectedHash)}…";
        }
        catch (Exception ex)
        {
            return $"seed {Seed}, stream {id} ({side}): {ex.GetType().Name}: {ex.Message}";
        }
    }

    /// <summary>Mostly small, some up to 64 KiB (see the class remarks).</summary>
    private static int SizeOf(int payloadSeed)
    {
        var random = new Random(~payloadSeed);
        int kind = random.Next(100);
        return kind < 70 ? random.Next(0, 1024 + 1)
            : kind < 95 ? random.Next(1024, 8 * 1024 + 1)
            : random.Next(8 * 1024, 64 * 1024 + 1);
    }

    private static async Task WriteInPiecesAsync(MuxStream stream, byte[] payload, Random random)
    {
        int pieces = random.Next(1, 5);
        int offset = 0;
        for (int p = 0; p < pieces && offset < payload.Length; p++)
        {
            int length = p == pieces - 1 ? payload.Length - offset : random.Next(0, payload.Length - offset + 1);
            await stream.WriteAsync(payload.AsMemory(offset, length));
            offset += length;
        }
        if (offset < payload.Length)
        {
            await stream.WriteAsync(payload.AsMemory(offset));
        }
    }

    private static async Task<(long Length, byte[] Hash)> HashWithReadAllAsync(MuxStream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        await foreach (var chunk in stream.ReadAllAsync())
        {
            hash.AppendData(chunk.Span);
            length += chunk.Length;
        }
        return (length, hash.GetHashAndReset());
    }

    private static Task<(long Length, byte[] Hash)> HashWithReceivedAsync(MuxStream stream)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var done = new TaskCompletionSource<(long, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        long length = 0;
        stream.Received.Subscribe(
            chunk =>
            {
                hash.AppendData(chunk.Span);
                length += chunk.Length;
            },
            error =>
            {
                hash.Dispose();
                done.TrySetException(error);
            },
            () =>
            {
                done.TrySetResult((length, hash.GetHashAndReset()));
                hash.Dispose();
            });
        return done.Task;
    }

    private static async Task<(long Length, byte[] Hash)> HashWithAsStreamAsync(MuxStream stream, Random random)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var io = stream.AsStream(); // not disposed here: that would close the stream before this side has written
        var buffer = new byte[random.Next(1, 8 * 1024 + 1)];
        long length = 0;
        int n;
        while ((n = await io.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer.AsSpan(0, n));
            length += n;
        }
        return (length, hash.GetHashAndReset());
    }

    /// <summary>
    /// Copies <paramref name="from"/> to <paramref name="to"/> in random pieces, each flushed on its own, with random
    /// yields and short delays; ends when either end completes. Returns the bytes moved.
    /// </summary>
    private static async Task<long> RelayAsync(PipeReader from, PipeWriter to, Random random)
    {
        long moved = 0;
        Exception? failure = null;
        try
        {
            while (true)
            {
                var result = await from.ReadAsync();
                var buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    int kind = random.Next(10);
                    long piece = kind == 0 ? 1 : kind < 4 ? random.Next(1, 65) : random.Next(1, 4097);
                    var slice = buffer.Slice(0, Math.Min(piece, buffer.Length));
                    foreach (var segment in slice)
                    {
                        to.Write(segment.Span);
                    }
                    buffer = buffer.Slice(slice.End);
                    moved += slice.Length;
                    var flush = await to.FlushAsync();
                    if (flush.IsCompleted)
                    {
                        from.AdvanceTo(result.Buffer.End);
                        return moved; // the session on the far side stopped reading
                    }
                    int pause = random.Next(100);
                    if (pause < 10)
                    {
                        await Task.Yield();
                    }
                    else if (pause == 10)
                    {
                        await Task.Delay(random.Next(1, 3));
                    }
                }
                from.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return moved;
                }
            }
        }
        catch (Exception ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            await to.CompleteAsync(failure);
            await from.CompleteAsync(failure);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }
}
