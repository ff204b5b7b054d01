using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Muxado.Reactive.Interop;

/// <summary>The outcome of one check: printed as <c>PASS name info</c> or <c>FAIL name info</c>.</summary>
/// <param name="Name">The check's name.</param>
/// <param name="Passed">Whether it passed.</param>
/// <param name="Info">What it measured, or why it failed.</param>
public sealed record CheckResult(string Name, bool Passed, string Info)
{
    /// <inheritdoc />
    public override string ToString() => $"{(Passed ? "PASS" : "FAIL")} {Name} {Info}";
}

/// <summary>How the checks run.</summary>
public sealed record CheckSettings
{
    /// <summary>Workers of the parallel check.</summary>
    public int Parallel { get; init; } = 16;

    /// <summary>Echo streams each parallel worker runs, one after another.</summary>
    public int StreamsPerWorker { get; init; } = 20;

    /// <summary>Bytes of the sink and source checks (8 MiB in PEER.md).</summary>
    public long Bulk { get; init; } = 8L * 1024 * 1024;

    /// <summary>Bytes of the large echo: more than the 256 KiB window, both ways at once.</summary>
    public int LargeEcho { get; init; } = 1024 * 1024 + 13;

    /// <summary>N of the callback check.</summary>
    public long CallbackLength { get; init; } = 70_000;

    /// <summary>The time limit of each check; a broken peer fails a check rather than hanging it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The seven checks of PEER.md, run as the opener on a session. The callback check needs the peer to open a
/// stream back, so the session must also be served by a <see cref="BehaviourServer"/>.
/// </summary>
public sealed class CheckRunner
{
    /// <summary>A check failed on its own deadline but did not stop: how much longer it may take to give up.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private readonly MuxSession _session;
    private readonly CheckSettings _settings;

    /// <summary>Creates a runner that opens its streams on <paramref name="session"/>.</summary>
    public CheckRunner(MuxSession session, CheckSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _session = session;
        _settings = settings ?? new CheckSettings();
    }

    /// <summary>The names of the checks, in the order they run.</summary>
    public static IReadOnlyList<string> Names { get; } = ["echo-small", "echo-large", "echo-empty", "sink", "source", "callback", "parallel"];

    /// <summary>Runs all seven checks one after another; <paramref name="onResult"/> hears each as it ends.</summary>
    public async Task<IReadOnlyList<CheckResult>> RunAllAsync(Action<CheckResult>? onResult = null, CancellationToken cancellationToken = default)
    {
        var checks = new (string Name, Func<CancellationToken, Task<string>> Run)[]
        {
            (Names[0], EchoSmallAsync),
            (Names[1], EchoLargeAsync),
            (Names[2], EchoEmptyAsync),
            (Names[3], SinkAsync),
            (Names[4], SourceAsync),
            (Names[5], CallbackAsync),
            (Names[6], ParallelAsync),
        };
        var results = new List<CheckResult>();
        foreach (var (name, run) in checks)
        {
            var result = await RunOneAsync(name, run, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            onResult?.Invoke(result);
        }
        return results;
    }

    private async Task<CheckResult> RunOneAsync(string name, Func<CancellationToken, Task<string>> check, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.Timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            // The deadline cancels every read and write; the outer wait also covers a check stuck elsewhere.
            string info = await check(deadline.Token).WaitAsync(_settings.Timeout + Grace, cancellationToken).ConfigureAwait(false);
            return new CheckResult(name, true, info);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(name, false, $"timed out after {Seconds(_settings.Timeout)}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(name, false, $"cancelled after {Seconds(clock.Elapsed)}");
        }
        catch (Exception ex)
        {
            string what = ex is PeerCheckException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            return new CheckResult(name, false, $"{what} (after {Seconds(clock.Elapsed)})");
        }
    }

    private async Task<string> EchoSmallAsync(CancellationToken cancellationToken)
    {
        var payload = "hello"u8.ToArray();
        await EchoAsync(payload, cancellationToken).ConfigureAwait(false);
        return $"{payload.Length} bytes";
    }

    private async Task<string> EchoLargeAsync(CancellationToken cancellationToken)
    {
        var payload = Pattern.Create(_settings.LargeEcho);
        var clock = Stopwatch.StartNew();
        await EchoAsync(payload, cancellationToken).ConfigureAwait(false);
        return $"{payload.Length} bytes each way at once, {Rate(payload.Length, clock.Elapsed)}";
    }

    private async Task<string> EchoEmptyAsync(CancellationToken cancellationToken)
    {
        await EchoAsync(ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        return "0 bytes, FIN answered with FIN";
    }

    private async Task<string> SinkAsync(CancellationToken cancellationToken)
    {
        long bulk = _settings.Bulk;
        return await WithStreamAsync(StreamTypes.Sink, async stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var clock = Stopwatch.StartNew();
            await StreamIO.WritePatternAsync(stream, bulk, hash, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            var reply = await StreamIO.ReadToEndAsync(stream, 1024, cancellationToken).ConfigureAwait(false);
            var elapsed = clock.Elapsed;
            if (reply.Length != 8 + SHA256.HashSizeInBytes)
            {
                throw new PeerCheckException($"reply is {reply.Length} bytes, expected 40 (count + SHA-256)");
            }
            ulong count = BinaryPrimitives.ReadUInt64BigEndian(reply);
            if (count != (ulong)bulk)
            {
                throw new PeerCheckException($"peer counted {count} bytes, sent {bulk}");
            }
            var expected = hash.GetHashAndReset();
            if (!reply.AsSpan(8).SequenceEqual(expected))
            {
                throw new PeerCheckException($"SHA-256 {Convert.ToHexStringLower(reply.AsSpan(8))} differs from {Convert.ToHexStringLower(expected)}");
            }
            return $"{bulk} bytes, count and SHA-256 match, {Rate(bulk, elapsed)}";
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> SourceAsync(CancellationToken cancellationToken)
    {
        long bulk = _settings.Bulk;
        return await WithStreamAsync(StreamTypes.Source, async stream =>
        {
            var clock = Stopwatch.StartNew();
            await StreamIO.WriteLengthAsync(stream, bulk, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            await StreamIO.VerifyPatternToEndAsync(stream, bulk, cancellationToken).ConfigureAwait(false);
            return $"{bulk} bytes, every byte checked, {Rate(bulk, clock.Elapsed)}";
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> CallbackAsync(CancellationToken cancellationToken)
    {
        long n = _settings.CallbackLength;
        return await WithStreamAsync(StreamTypes.Callback, async stream =>
        {
            await StreamIO.WriteLengthAsync(stream, n, cancellationToken).ConfigureAwait(false);
            await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
            var reply = await StreamIO.ReadToEndAsync(stream, 4096, cancellationToken).ConfigureAwait(false);
            string text = Encoding.ASCII.GetString(reply);
            if (text != "ok\n")
            {
                throw new PeerCheckException($"peer answered {Quote(text)}, expected \"ok\\n\"");
            }
            return $"N={n}, the peer's echo stream round trip is ok";
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> ParallelAsync(CancellationToken cancellationToken)
    {
        int workers = _settings.Parallel;
        int perWorker = _settings.StreamsPerWorker;
        int total = workers * perWorker;
        int failures = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            for (int j = 0; j < perWorker; j++)
            {
                int size = 64 + ((worker * perWorker) + j) % 100; // 64..163 bytes
                try
                {
                    await EchoAsync(Pattern.Slice(0, size), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, $"worker {worker} stream {j} ({size} bytes): {ex.Message}", null);
                }
            }
        }, cancellationToken));
        await Task.WhenAll(tasks).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        if (failures > 0)
        {
            throw new PeerCheckException($"{failures} of {total} echo streams failed; first: {firstError}");
        }
        double perSecond = total / Math.Max(elapsed.TotalSeconds, 1e-6);
        return string.Create(CultureInfo.InvariantCulture,
            $"{workers} workers x {perWorker} echo streams of 64..163 bytes = {total} streams, {perSecond:0} streams/s");
    }

    /// <summary>One echo round trip: writes <paramref name="payload"/> while reading it back, half-closes, checks every byte.</summary>
    private Task EchoAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        WithStreamAsync(StreamTypes.Echo, async stream =>
        {
            await Duplex.RunAsync(
                stream,
                async () =>
                {
                    for (int offset = 0; offset < payload.Length; offset += 16 * 1024)
                    {
                        int n = Math.Min(16 * 1024, payload.Length - offset);
                        await stream.WriteAsync(payload.Slice(offset, n), cancellationToken).ConfigureAwait(false);
                    }
                    await stream.CloseWriteAsync(cancellationToken).ConfigureAwait(false);
                },
                () => VerifyEchoAsync(stream, payload, cancellationToken)).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private static async Task VerifyEchoAsync(MuxStream stream, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
        int offset = 0;
        await foreach (var chunk in stream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (offset + chunk.Length > expected.Length)
            {
                throw new PeerCheckException($"echo returned more than the {expected.Length} bytes sent");
            }
            int same = chunk.Span.CommonPrefixLength(expected.Span.Slice(offset, chunk.Length));
            if (same < chunk.Length)
            {
                int at = offset + same;
                throw new PeerCheckException($"echo byte {at} is 0x{chunk.Span[same]:x2}, sent 0x{expected.Span[at]:x2}");
            }
            offset += chunk.Length;
        }
        if (offset != expected.Length)
        {
            throw new PeerCheckException($"echo returned {offset} bytes, sent {expected.Length}");
        }
    }

    /// <summary>Opens a typed stream, runs <paramref name="body"/> on it, resets it if that fails, and closes it.</summary>
    private async Task<T> WithStreamAsync<T>(uint type, Func<MuxStream, Task<T>> body, CancellationToken cancellationToken)
    {
        var stream = await _session.OpenTypedAsync(type, cancellationToken).ConfigureAwait(false);
        try
        {
            return await body(stream).ConfigureAwait(false);
        }
        catch
        {
            stream.Reset(ErrorCode.StreamCancelled);
            throw;
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string Rate(long bytes, TimeSpan elapsed) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes / Math.Max(elapsed.TotalSeconds, 1e-6) / 1e6:0.0} MB/s");

    private static string Seconds(TimeSpan span) =>
        string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###}s");

    private static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
