using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// PROTOCOL.md, "Stream ids": new ids do not arrive in increasing order (SYNs ride on racing first writes); any
/// never-used id of the peer's parity is accepted, an id open or finished is a protocol error, and remembering
/// "never used" costs bounded memory whatever the peer does.
/// </summary>
public class StreamIdTests
{
    private static readonly ReadOnlyMemory<byte> None = ReadOnlyMemory<byte>.Empty;

    private static Frame Syn(uint id, FrameFlags more = FrameFlags.None) => Frame.Data(id, None, FrameFlags.Syn | more);

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void Syns_in_any_order_are_all_accepted_and_leave_no_gaps(int seed)
    {
        var ids = Enumerable.Range(0, 200).Select(i => (uint)(2 * i) + 1).ToArray();
        new Random(seed).Shuffle(ids);
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 1000 });

        foreach (uint id in ids)
        {
            Assert.That(h.Receive(Syn(id), Frame.Data(id, Encoding.ASCII.GetBytes($"#{id}"))), Is.Null, $"SYN {id}");
        }

        Assert.That(h.Written, Is.Empty, "no refusal, no reset");
        Assert.That(h.Core.StreamCount, Is.EqualTo(200));
        Assert.That(ids.Select(id => Encoding.ASCII.GetString([.. h.Streams[id].Data])), Is.EqualTo(ids.Select(id => $"#{id}")));
        Assert.That(h.Core.UnusedIdRangeCount, Is.Zero, "every id up to the highest was used");
    }

    [Test]
    public void A_lower_id_than_the_highest_is_accepted_when_it_was_never_used()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Syn(7), Syn(5), Syn(1), Syn(3)), Is.Null);
        Assert.That(h.Core.StreamCount, Is.EqualTo(4));
        Assert.That(h.Core.LastRemoteIdForGoAway, Is.EqualTo(7u), "GOAWAY still reports the highest id");
    }

    [Test]
    public void A_server_peer_may_open_even_ids_out_of_order_too()
    {
        var h = new CoreHarness(SessionRole.Client);
        Assert.That(h.Receive(Syn(6), Syn(2), Syn(4)), Is.Null);
        Assert.That(h.Core.StreamCount, Is.EqualTo(3));
    }

    [Test]
    public void A_syn_for_an_open_id_below_the_highest_is_a_protocol_error()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Syn(3), Syn(9));
        var fault = h.Receive(Syn(3));
        Assert.That(fault, Is.EqualTo(new SessionFault(ErrorCode.ProtocolError, "initiated stream id was already used: 0x3")));
        Assert.That(h.Streams[3].ResetWith, Is.Null, "the open stream was not replaced (Go replaces it silently)");
    }

    [Test]
    public void A_syn_for_a_finished_id_is_a_protocol_error()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Syn(5, FrameFlags.Fin));
        h.Core.Close(5);
        Assert.That(h.Core.StreamCount, Is.Zero);
        h.TakeWritten();

        var fault = h.Receive(Syn(5));
        Assert.That(fault, Is.EqualTo(new SessionFault(ErrorCode.ProtocolError, "initiated stream id was already used: 0x5")));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.GoAway(5, ErrorCode.ProtocolError, "initiated stream id was already used: 0x5") }));
    }

    [Test]
    public void A_syn_for_a_finished_id_below_the_highest_is_a_protocol_error()
    {
        var h = new CoreHarness(SessionRole.Server);
        h.Receive(Syn(9), Syn(3));
        h.Receive(Frame.Rst(3, ErrorCode.StreamCancelled));
        Assert.That(h.Receive(Syn(3))!.Code, Is.EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public void A_refused_id_counts_as_used()
    {
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { MaxIncomingStreams = 1 });
        h.Receive(Syn(1), Syn(3));
        Assert.That(h.TakeWritten(), Is.EqualTo(new[] { Frame.Rst(3, ErrorCode.StreamRefused) }));
        h.Core.Reset(1, ErrorCode.StreamCancelled);
        Assert.That(h.Receive(Syn(3))!.Code, Is.EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public void Our_own_syns_may_reach_the_peer_out_of_id_order_when_they_ride_on_the_first_write()
    {
        var options = new MuxSessionOptions { OpenWithEmptySyn = false };
        var client = new CoreHarness(SessionRole.Client, options);
        var server = new CoreHarness(SessionRole.Server, options);

        var a = client.OpenLocal();
        var b = client.OpenLocal();
        Assert.That(client.Written, Is.Empty, "ids are allocated at open, SYNs wait for the first write");
        client.Core.Send(b.Id, Encoding.ASCII.GetBytes("from b"));
        var bFrames = client.TakeWritten();
        client.Core.Send(a.Id, Encoding.ASCII.GetBytes("from a"));
        var aFrames = client.TakeWritten();
        Assert.That(bFrames.Single(), Is.EqualTo(Frame.Data(5, Encoding.ASCII.GetBytes("from b"), FrameFlags.Syn)));
        Assert.That(aFrames.Single(), Is.EqualTo(Frame.Data(3, Encoding.ASCII.GetBytes("from a"), FrameFlags.Syn)));

        Assert.That(server.Receive([.. bFrames, .. aFrames]), Is.Null, "SYN 5 before SYN 3");
        Assert.That(server.Written, Is.Empty);
        Assert.That(Encoding.ASCII.GetString([.. server.Streams[3].Data]), Is.EqualTo("from a"));
        Assert.That(Encoding.ASCII.GetString([.. server.Streams[5].Data]), Is.EqualTo("from b"));

        // And the conversation goes on both ways on both streams.
        server.Core.Consumed(3, 6);
        server.Core.Send(3, Encoding.ASCII.GetBytes("to a"));
        Assert.That(client.Receive([.. server.TakeWritten()]), Is.Null);
        Assert.That(Encoding.ASCII.GetString([.. a.Data]), Is.EqualTo("to a"));
        Assert.That(a.WindowOpened, Is.EqualTo(1));
    }

    [Test]
    public void The_gap_below_the_first_id_is_remembered_as_one_range_and_nothing_before()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Core.UnusedIdRangeCount, Is.Zero, "an idle session holds nothing");
        h.Receive(Syn(1), Syn(3), Syn(5));
        Assert.That(h.Core.UnusedIdRangeCount, Is.Zero, "a peer that opens in order creates no gap");
        h.Receive(Syn(11));
        Assert.That(h.Core.UnusedIdRangeCount, Is.EqualTo(1));
        h.Receive(Syn(9));
        Assert.That(h.Core.UnusedIdRangeCount, Is.EqualTo(1), "7 is left");
        h.Receive(Syn(7));
        Assert.That(h.Core.UnusedIdRangeCount, Is.Zero);
    }

    [Test]
    public void A_peer_jumping_to_the_top_id_and_back_costs_one_range()
    {
        var h = new CoreHarness(SessionRole.Server);
        Assert.That(h.Receive(Syn(3), Syn(Frame.MaxStreamId)), Is.Null);
        Assert.That(h.Core.UnusedIdRangeCount, Is.EqualTo(2), "[1] and [5, 2^31-3]");
        Assert.That(h.Receive(Syn(1_000_001), Syn(5), Syn(Frame.MaxStreamId - 2)), Is.Null);
        Assert.That(h.Core.UnusedIdRangeCount, Is.EqualTo(3), "[1], [7, 999999], [1000003, 2^31-5]");
        Assert.That(h.Receive(Syn(Frame.MaxStreamId))!.Code, Is.EqualTo(ErrorCode.ProtocolError));
    }

    [Test]
    public void Thousands_of_random_ids_keep_the_ranges_bounded_and_accept_and_reject_right()
    {
        var rng = new Random(20261201);
        var h = new CoreHarness(SessionRole.Server);
        var used = new List<uint>();
        var usedSet = new HashSet<uint>();
        var lastGap = (First: 0u, Last: 0u);

        void Open(uint id)
        {
            // Opened and finished at once (SYN|FIN, then the application's close): the table stays empty.
            Assert.That(h.Receive(Syn(id, FrameFlags.Fin)), Is.Null, $"fresh id {id} after {used.Count} opens");
            h.Accept(id);
            h.Core.Close(id);
            used.Add(id);
            usedSet.Add(id);
        }

        Open(3);
        Open(1_000_001);   // the peer jumps far ahead; the fills below come back into the gaps it leaves
        uint highest = 1_000_001;
        lastGap = (5, 999_999);
        for (int step = 0; step < 6000; step++)
        {
            bool fill = lastGap.Last >= lastGap.First && lastGap.First != 0 && rng.Next(3) == 0;
            if (fill)
            {
                // An id inside the newest gap: honest reordering, just below the highest. Never forgotten.
                uint span = (lastGap.Last - lastGap.First) / 2;
                uint id = lastGap.First + (2 * (uint)rng.NextInt64(span + 1));
                if (usedSet.Contains(id))
                {
                    continue;
                }
                Open(id);
                lastGap = id == lastGap.First ? (id + 2, lastGap.Last) : id == lastGap.Last ? (lastGap.First, id - 2) : (id + 2, lastGap.Last);
            }
            else
            {
                uint id = highest + 2 + (2 * (uint)rng.Next(1000));
                Open(id);
                lastGap = (highest + 2, id - 2);
                highest = id;
            }
            Assert.That(h.Core.UnusedIdRangeCount, Is.LessThanOrEqualTo(UnusedIdRanges.MaxRanges));
        }

        Assert.That(h.Core.UnusedIdRangeCount, Is.EqualTo(UnusedIdRanges.MaxRanges), "the bound was reached, not just approached");
        Assert.That(h.Core.StreamCount, Is.Zero);
        Assert.That(h.Core.IsClosed, Is.False);
        Assert.That(h.Written.Where(f => f.Type != FrameType.Data), Is.Empty, "no refusal, no reset");

        // Reuse is still caught, for an id from the start as for a recent one.
        var reused = used[rng.Next(used.Count)];
        Assert.That(h.Receive(Syn(reused))!.Message, Is.EqualTo($"initiated stream id was already used: 0x{reused:x}"));
    }

    [Test]
    public void Unused_id_ranges_never_accept_an_id_twice_and_always_accept_the_newest_gap()
    {
        var rng = new Random(7);
        var ranges = new UnusedIdRanges();
        var accepted = new HashSet<uint>();
        var acceptedInOrder = new List<uint>();
        uint previousHighest = 0;
        int mostRanges = 0;
        for (int step = 0; step < 20_000; step++)
        {
            uint id;
            int kind = rng.Next(100);
            if (kind == 0 || ranges.Highest == 0)
            {
                id = (2 * (uint)rng.NextInt64(Frame.MaxStreamId / 2)) + 1;       // anywhere at all
            }
            else if (kind < 25 && acceptedInOrder.Count > 0)
            {
                id = acceptedInOrder[rng.Next(acceptedInOrder.Count)];          // a reuse attempt
            }
            else if (kind < 75 && ranges.Highest < Frame.MaxStreamId - 4000)
            {
                id = ranges.Highest + 2 + (2 * (uint)rng.Next(1000));           // a step up, making a gap
            }
            else
            {
                id = ranges.Highest - (2 * (uint)rng.Next((int)Math.Min(1000, (ranges.Highest + 1) / 2))); // just below the top
            }

            bool fresh = !accepted.Contains(id);
            bool above = id > ranges.Highest;
            bool trackedBefore = ranges.IsUnused(id);
            previousHighest = ranges.Highest;
            bool result = ranges.TryUse(id, lowestOfParity: 1);

            if (!fresh)
            {
                Assert.That(result, Is.False, $"id {id} accepted twice");
            }
            else if (above)
            {
                Assert.That(result, Is.True, $"new highest id {id}");
                // The gap just made is remembered: an id in it is accepted, once.
                if (id - previousHighest > 2 && previousHighest != 0)
                {
                    uint inGap = previousHighest + 2;
                    Assert.That(ranges.IsUnused(inGap), Is.True, $"newest gap below {id}");
                }
            }
            else
            {
                Assert.That(result, Is.EqualTo(trackedBefore), $"id {id} below the highest");
            }
            if (result)
            {
                accepted.Add(id);
                acceptedInOrder.Add(id);
            }
            Assert.That(ranges.Count, Is.LessThanOrEqualTo(UnusedIdRanges.MaxRanges));
            mostRanges = Math.Max(mostRanges, ranges.Count);
        }
        Assert.That(mostRanges, Is.EqualTo(UnusedIdRanges.MaxRanges), "the bound was exercised");
    }
}
