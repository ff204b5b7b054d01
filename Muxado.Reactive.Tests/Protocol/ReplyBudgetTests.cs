using System.Text;
using Muxado.Reactive.Frames;
using Muxado.Reactive.Protocol;

namespace Muxado.Reactive.Tests.Protocol;

/// <summary>
/// The reply budget (PROTOCOL.md, "Limits Go does not have and we do"): every flood of frames that force a reply
/// or cost work for nothing ends the session after at most the budgeted replies, while an honest peer never trips it.
/// </summary>
public class ReplyBudgetTests
{
    private static readonly ReadOnlyMemory<byte> None = ReadOnlyMemory<byte>.Empty;
    private static readonly long Second = TimeSpan.TicksPerSecond;

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static uint Odd(int i) => (uint)(2 * i) + 1;

    /// <summary>One flood: how to set the harness up, and the frames of its i-th round.</summary>
    private sealed record Flood(string Name, Func<int, Frame[]> Round, Action<CoreHarness>? Setup = null, int FreeRounds = 0);

    public static IEnumerable<string> FloodNames() => AllFloods.Select(f => f.Name);

    private static readonly Flood[] AllFloods =
    [
        new("DATA on unknown streams (CVE-2019-9514's reset flood, made by us)", i => [Frame.Data(Odd(i) + 1000, B("x"))]),
        new("RST on unknown streams (CVE-2019-9514)", i => [Frame.Rst(Odd(i), ErrorCode.StreamCancelled)]),
        new("open then reset at once (Rapid Reset, CVE-2023-44487)", i => [Frame.Data(Odd(i), None, FrameFlags.Syn), Frame.Rst(Odd(i), ErrorCode.StreamCancelled)]),
        new("window overflow making us reset (MadeYouReset, CVE-2025-8671)", i => [Frame.Data(Odd(i), None, FrameFlags.Syn), Frame.WndInc(Odd(i), 0x7FFFFFFF)]),
        new("data beyond the window making us reset (MadeYouReset)", i => [Frame.Data(Odd(i), new byte[1025], FrameFlags.Syn)]),
        new("data after FIN making us reset (MadeYouReset)", i => [Frame.Data(Odd(i), None, FrameFlags.Syn | FrameFlags.Fin), Frame.Data(Odd(i), B("x"))]),
        new("empty DATA that says nothing (CVE-2019-9518)", i => [Frame.Data(1, None)],
            h => h.Receive(Frame.Data(1, None, FrameFlags.Syn))),
        new("unknown frame types (CVE-2019-9512/9515's ping and settings floods)", i => [Frame.Unknown(0x7, FrameFlags.None, 0, new byte[8])]),
        new("repeated GOAWAYs", i => [Frame.GoAway(0, ErrorCode.NoError, "bye")], FreeRounds: 1),
    ];

    [TestCaseSource(nameof(FloodNames))]
    public void A_flood_at_one_instant_ends_the_session_after_at_most_the_burst(string name)
    {
        var flood = AllFloods.Single(f => f.Name == name);
        const int Burst = 50;
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions
        {
            WindowSize = 1024, AcceptBacklog = 1, ReplyBudgetBurst = Burst, ReplyBudgetPerSecond = 100,
        });
        flood.Setup?.Invoke(h);
        h.TakeWritten();

        SessionFault? fault = null;
        int rounds = 0;
        while (fault is null && rounds < 10 * Burst)
        {
            fault = h.Receive(flood.Round(rounds++)); // nobody accepts: a backlog of one stays full
        }

        Assert.That(fault?.Code, Is.EqualTo(ErrorCode.EnhanceYourCalm), "the flood ended the session");
        Assert.That(rounds, Is.EqualTo(Burst + 1 + flood.FreeRounds), "every round was charged, exactly once");
        Assert.That(h.Written.Count(f => f.Type == FrameType.Rst), Is.LessThanOrEqualTo(Burst), "replies written");
        Assert.That(h.Written[^1], Is.EqualTo(Frame.GoAway(h.Core.LastRemoteIdForGoAway, ErrorCode.EnhanceYourCalm,
            "too many frames forcing replies: more than 50 at once or 100 per second")));
    }

    [TestCase(false, TestName = "Refused SYNs are free: a burst against a full accept backlog")]
    [TestCase(true, TestName = "Refused SYNs are free: SYNs in flight across our GOAWAY")]
    public void Refused_syns_are_answered_without_cost(bool afterGoAway)
    {
        // An honest Go client opens faster than the application accepts, or its SYNs cross our GOAWAY: each refusal
        // cost the peer an id and a frame, so it amplifies nothing, and the session must go on (issue 9: a burst of
        // 1,000 SYNs against a backlog of 128 used to end it with EnhanceYourCalm).
        const int Syns = 1000;
        var h = new CoreHarness(SessionRole.Server, new MuxSessionOptions { AcceptBacklog = 1, ReplyBudgetBurst = 50, ReplyBudgetPerSecond = 0 });
        if (afterGoAway)
        {
            h.Core.GoAway(ErrorCode.NoError, "draining", sessionStaysOpen: true);
        }
        h.TakeWritten();
        for (int i = 0; i < Syns; i++)
        {
            Assert.That(h.Receive(Frame.Data(Odd(i), B("x"), FrameFlags.Syn)), Is.Null, $"SYN {i}");
        }
        var expected = afterGoAway ? ErrorCode.StreamRefused : ErrorCode.AcceptQueueFull;
        Assert.That(h.Written.Count(f => f.Type == FrameType.Rst && f.ErrorCode == expected), Is.EqualTo(afterGoAway ? Syns : Syns - 1));
        Assert.That(h.Core.IsClosed, Is.False);
    }

    [Test]
    public void A_flood_faster_than_the_refill_gets_the_burst_plus_the_refill_then_the_session_ends()
    {
        var h = new CoreHarness(SessionRole.Server); // the defaults: 300 at once, 100 per second
        SessionFault? fault = null;
        int i = 0;
        while (fault is null)
        {
            h.Now = i * Second / 1000;                // 1,000 frames a second
            fault = h.Receive(Frame.Data(Odd(i++), B("x")));
        }
        double seconds = (double)h.Now / Second;
        int replies = h.Written.Count(f => f.Type == FrameType.Rst);

        Assert.That(fault.Code, Is.EqualTo(ErrorCode.EnhanceYourCalm));
        Assert.That(replies, Is.LessThanOrEqualTo(300 + (int)(100 * seconds)));
        Assert.That(replies, Is.GreaterThanOrEqualTo(300 + (int)(100 * seconds) - 1), "the refill was given");
        Assert.That(seconds, Is.InRange(0.3, 0.4), "300 + 100 t = 1000 t");
    }

    [Test]
    public void Frames_at_the_refill_rate_may_go_on_for_ever()
    {
        var h = new CoreHarness(SessionRole.Server);
        for (int i = 0; i < 100 * 600; i++)
        {
            h.Now = i * Second / 100;                 // 100 a second for ten minutes
            Assert.That(h.Receive(Frame.Rst(Odd(i), ErrorCode.StreamCancelled)), Is.Null, $"at {h.Now / Second} s");
        }
    }

    [Test]
    public void An_honest_go_peer_at_a_busy_rate_for_ten_minutes_never_trips_the_budget()
    {
        var h = new CoreHarness(SessionRole.Server);
        int streams = 0;
        uint nextId = 3;                              // a Go client's first id
        const int PerSecond = 100;
        const int Seconds = 600;
        for (int i = 0; i < PerSecond * Seconds; i++)
        {
            h.Now = i * Second / PerSecond;
            h.Written.Clear();
            uint id = nextId;
            nextId += 2;
            SessionFault? fault;
            switch (i % 5)
            {
                case 0:
                    // Request, CloseWrite, our reply and Close, then Go's Close: a second empty FIN, credit for our reply.
                    fault = h.Receive(Frame.Data(id, B("GET /"), FrameFlags.Syn), Frame.Data(id, None, FrameFlags.Fin));
                    h.Accept(id);
                    h.Core.Consumed(id, 5);
                    h.Core.Send(id, B("200 OK"));
                    h.Core.Close(id);
                    fault ??= h.Receive(Frame.Data(id, None, FrameFlags.Fin), Frame.WndInc(id, 6));
                    break;
                case 1:
                    // An upload our application stops reading: RST StreamClosed, the peer's data in flight races it.
                    fault = h.Receive(Frame.Data(id, new byte[512], FrameFlags.Syn));
                    h.Accept(id);
                    h.Core.Close(id);
                    fault ??= h.Receive(Frame.Data(id, new byte[512]), Frame.Data(id, new byte[512]), Frame.Data(id, None, FrameFlags.Fin));
                    break;
                case 2:
                    // Go's Close right after the request: our reply meets its RST StreamClosed.
                    fault = h.Receive(Frame.Data(id, B("notify"), FrameFlags.Syn | FrameFlags.Fin));
                    h.Accept(id);
                    h.Core.Consumed(id, 6);
                    h.Core.Send(id, B("ok"));
                    h.Core.CloseWrite(id);
                    fault ??= h.Receive(Frame.Rst(id, ErrorCode.StreamClosed));
                    break;
                case 3:
                    // We open towards the peer; its backlog is full: RST AcceptQueueFull, then its late credit.
                    var ours = h.OpenLocal();
                    h.Core.Send(ours.Id, B("push"));
                    fault = h.Receive(Frame.Rst(ours.Id, ErrorCode.AcceptQueueFull), Frame.WndInc(ours.Id, 4));
                    break;
                default:
                    // SYNs racing onto the wire: this id and the next arrive swapped; then both finish.
                    uint next = nextId;
                    nextId += 2;
                    fault = h.Receive(Frame.Data(next, B("b"), FrameFlags.Syn | FrameFlags.Fin), Frame.Data(id, B("a"), FrameFlags.Syn | FrameFlags.Fin));
                    h.Accept(id);
                    h.Accept(next);
                    h.Core.Close(next);
                    h.Core.Close(id);
                    break;
            }
            if (i % (PerSecond * 60) == 0)
            {
                // Once a minute, Go's own race: DATA before its SYN (answered and charged, as PROTOCOL.md says).
                uint early = nextId;
                nextId += 2;
                fault ??= h.Receive(Frame.Data(early, B("early")), Frame.Data(early, B("syn"), FrameFlags.Syn | FrameFlags.Fin));
                h.Accept(early);
                h.Core.Close(early);
            }
            Assert.That(fault, Is.Null, $"at {h.Now / Second} s, stream {id}");
            streams++;
        }
        Assert.That(h.Core.StreamCount, Is.Zero);
        Assert.That(h.Core.IsClosed, Is.False);
        Assert.That(streams, Is.EqualTo(PerSecond * Seconds));
    }

    [Test]
    public void The_bucket_refills_at_its_rate_up_to_its_burst()
    {
        var budget = new ReplyBudget(burst: 3, perSecond: 2);
        Assert.That(Enumerable.Range(0, 4).Select(_ => budget.TryCharge(0)), Is.EqualTo(new[] { true, true, true, false }));
        Assert.That(budget.TryCharge(Second / 4), Is.False, "half a token");
        Assert.That(budget.TryCharge(Second / 2), Is.True, "one token after half a second");
        Assert.That(budget.TryCharge(Second / 2), Is.False);
        Assert.That(budget.TryCharge(Second * 3600 * 24 * 365), Is.True, "a year idle: full, no overflow");
        Assert.That(budget.TokensLeft, Is.EqualTo(2), "never more than the burst");
    }

    [Test]
    public void A_clock_going_backwards_refills_nothing()
    {
        var budget = new ReplyBudget(burst: 1, perSecond: 1);
        Assert.That(budget.TryCharge(10 * Second), Is.True);
        Assert.That(budget.TryCharge(5 * Second), Is.False);
        Assert.That(budget.TryCharge(5 * Second + (Second / 2)), Is.False, "counted from the new, earlier time");
        Assert.That(budget.TryCharge(6 * Second), Is.True);
    }

    [Test]
    public void A_zero_refill_gives_a_session_its_burst_and_no_more()
    {
        var budget = new ReplyBudget(burst: 2, perSecond: 0);
        Assert.That(new[] { budget.TryCharge(0), budget.TryCharge(Second * 1000), budget.TryCharge(Second * 100_000) }, Is.EqualTo(new[] { true, true, false }));
    }

    [TestCase(0, 100, "ReplyBudgetBurst")]
    [TestCase(10, -1, "ReplyBudgetPerSecond")]
    public void Options_reject_a_budget_that_makes_no_sense(int burst, int perSecond, string name)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MuxSessionOptions { ReplyBudgetBurst = burst, ReplyBudgetPerSecond = perSecond }.Validate());
        Assert.That(error!.ParamName, Is.EqualTo(name));
    }
}
