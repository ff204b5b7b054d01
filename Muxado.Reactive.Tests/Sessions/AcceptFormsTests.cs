using System.Buffers.Binary;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Testing;

namespace Muxado.Reactive.Tests.Sessions;

/// <summary>The accept forms: async sequence, typed streams (split prefixes, heartbeat hidden), Rx typed sequence.</summary>
public class AcceptFormsTests
{
    [Test]
    public async Task AcceptAllAsync_yields_every_stream_and_ends_when_the_peer_closes_cleanly()
    {
        var pair = new VirtualSessionPair();
        var opened = Enumerable.Range(0, 3).Select(_ => pair.Client.Open().Id).ToList();
        pair.RunUntilIdle();
        var closing = pair.Client.DisposeAsync().AsTask();
        pair.RunUntilIdle();
        await closing.WaitAsync(TimeSpan.FromSeconds(30));

        var accepted = new List<uint>();
        await foreach (var stream in pair.Server.AcceptAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token))
        {
            accepted.Add(stream.Id);
        }
        Assert.That(accepted, Is.EqualTo(opened));
        await pair.DisposeAsync();
    }

    [Test]
    public async Task A_type_prefix_split_across_frames_is_read_whole_and_the_payload_follows()
    {
        await using var pair = new VirtualSessionPair();
        var stream = pair.Client.Open();
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, 0xA1B2C3D4);
        await stream.WriteAsync(prefix.AsMemory(0, 1));
        await stream.WriteAsync(prefix.AsMemory(1, 2));
        await stream.WriteAsync(new byte[] { prefix[3], (byte)'x', (byte)'y' });
        await stream.CloseWriteAsync();
        var accepting = pair.Server.AcceptTypedAsync();
        pair.RunUntilIdle();

        Assert.That(accepting.IsCompletedSuccessfully, Is.True);
        var typed = accepting.Result;
        Assert.That(typed.Type, Is.EqualTo(0xA1B2C3D4u));
        var rest = new List<byte>();
        typed.Stream.Received.Subscribe(c => rest.AddRange(c.ToArray()));
        pair.RunUntilIdle();
        Assert.That(rest, Is.EqualTo("xy"u8.ToArray()));
    }

    [Test]
    public async Task IncomingTyped_delivers_typed_streams_and_hides_heartbeats()
    {
        await using var pair = new VirtualSessionPair();
        var seen = new List<uint>();
        pair.Server.IncomingTyped.Subscribe(t => seen.Add(t.Type), _ => { });
        await using var heartbeat = await Heartbeat.StartAsync(pair.Client, TimeSpan.FromSeconds(1));
        var latencies = new List<TimeSpan>();
        heartbeat.Latencies.Subscribe(latencies.Add);
        await pair.Client.OpenTypedAsync(7);
        await pair.Client.OpenTypedAsync(9);
        pair.RunFor(TimeSpan.FromSeconds(2.5));

        Assert.That(seen, Is.EquivalentTo(new uint[] { 7, 9 }), "the heartbeat stream is answered, not delivered");
        Assert.That(latencies, Has.Count.EqualTo(2));
        Assert.That(pair.ServerFrames.Frames.Any(f => f.Type == FrameType.Data && f.Length == 4), Is.True, "the beat was echoed");
    }
}
