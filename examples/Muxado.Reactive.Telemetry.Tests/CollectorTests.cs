using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Muxado.Reactive.Telemetry.Tests;

/// <summary>
/// A collector and agents in this process over loopback, for a few seconds of real time: what the page's endpoints
/// serve, and that a slow sink slows its own agent only. Waits are polls with a bound, never fixed sleeps.
/// </summary>
public class CollectorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly List<string> _log = [];

    [SetUp]
    public void ForgetTheLog()
    {
        lock (_log)
        {
            _log.Clear();
        }
    }

    /// <summary>The collector's log goes to the failure message of a poll that never got there.</summary>
    private CollectorOptions Options(string? slowAgent = null) => new()
    {
        SlowAgent = slowAgent,
        Log = line =>
        {
            lock (_log)
            {
                _log.Add(line);
            }
        },
    };

    [Test]
    public async Task The_data_endpoint_gives_each_series_a_sensible_rate_and_the_agent_a_round_trip()
    {
        await using var collector = new Collector(Options());
        var url = await collector.StartAsync(CancellationToken.None);
        using var agent = Agent.Start(url, "probe", _ => { });
        using var http = new HttpClient { BaseAddress = url };

        var data = await PollAsync(http, d => Agent.DefaultSeries.All(s => Rate(d, "probe", s.Name) > 0) && RoundTrip(d, "probe") > 0);

        foreach (var series in Agent.DefaultSeries)
        {
            // A full rate window at the agent's pace, give or take the timer's ticks: neither missing nor invented.
            Assert.That(Rate(data, "probe", series.Name), Is.InRange(series.SamplesPerSecond * 0.3, series.SamplesPerSecond * 1.5), series.Name);
        }
        Assert.That(RoundTrip(data, "probe"), Is.GreaterThan(0).And.LessThan(2000), "round trip in ms over loopback");
        var probe = data.GetProperty("agents").EnumerateArray().Single(a => a.GetProperty("agent").GetString() == "probe");
        Assert.That(probe.GetProperty("connected").GetBoolean(), Is.True);
        Assert.That(probe.GetProperty("sink").GetString(), Is.EqualTo("fast"));
    }

    [Test]
    public async Task The_root_serves_the_page_with_the_recent_past_inside()
    {
        await using var collector = new Collector(Options());
        var url = await collector.StartAsync(CancellationToken.None);
        using var agent = Agent.Start(url, "probe", _ => { });
        using var http = new HttpClient { BaseAddress = url };
        await PollAsync(http, d => Rate(d, "probe", "cpu") > 0);

        using var page = await http.GetAsync(new Uri("/", UriKind.Relative));
        string html = await page.Content.ReadAsStringAsync();

        Assert.That(page.IsSuccessStatusCode, Is.True);
        Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(html, Does.StartWith("<!DOCTYPE html>").And.Contain("<canvas").And.Contain("new EventSource(\"/events\")"));
        Assert.That(html, Does.Contain("\"agent\":\"probe\"").And.Not.Contain("/*HISTORY*/"), "the history is in the page");
    }

    [Test]
    public async Task A_slow_sink_slows_its_own_agent_and_not_the_other()
    {
        await using var collector = new Collector(Options(slowAgent: "slow") with { SlowFrom = TimeSpan.Zero });
        var url = await collector.StartAsync(CancellationToken.None);
        using var fast = Agent.Start(url, "fast", _ => { });
        using var slow = Agent.Start(url, "slow", _ => { });
        using var http = new HttpClient { BaseAddress = url };

        var data = await PollAsync(http, d => Agent.DefaultSeries.All(s => Rate(d, "fast", s.Name) > 0 && Rate(d, "slow", s.Name) > 0));

        // The slow sink takes 20 ms a sample: at most 50 a second through each of the slow agent's series.
        double slowTotal = Agent.DefaultSeries.Sum(s => Rate(data, "slow", s.Name));
        double fastTotal = Agent.DefaultSeries.Sum(s => Rate(data, "fast", s.Name));
        Assert.That(Agent.DefaultSeries.Select(s => Rate(data, "slow", s.Name)), Is.All.LessThanOrEqualTo(75), "the slow agent is held to its sink's pace");
        Assert.That(fastTotal, Is.GreaterThan(3 * slowTotal), "the fast agent keeps its own pace");
        // The backpressure reached the slow agent itself: its writers waited for the collector's window.
        Assert.That(slow.Waited, Is.GreaterThan(TimeSpan.FromMilliseconds(100)));
        Assert.That(slow.Waited, Is.GreaterThan(fast.Waited));
    }

    [Test]
    public async Task A_headless_browser_draws_the_rates_and_round_trips()
    {
        string? chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        if (chromium is null)
        {
            Assert.Ignore("Chromium is not installed (/usr/bin/chromium): no headless screenshot of the page.");
        }
        await using var collector = new Collector(Options());
        var url = await collector.StartAsync(CancellationToken.None);
        using var agent = Agent.Start(url, "agent-1", _ => { });
        using var http = new HttpClient { BaseAddress = url };
        // A few seconds of rates, so that every line of the page has several points to draw.
        await PollAsync(http, d => d.GetProperty("elapsed").GetDouble() > 4 && Agent.DefaultSeries.All(s => Rate(d, "agent-1", s.Name) > 0));

        string screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "telemetry-page.png");
        File.Delete(screenshot);
        await ScreenshotAsync(chromium, url, screenshot);
        TestContext.AddTestAttachment(screenshot, "the page in headless Chromium");
        var image = PngImage.Read(await File.ReadAllBytesAsync(screenshot));

        Assert.That((image.Width, image.Height), Is.EqualTo((1000, 700)));
        Assert.That(image.DistinctColours(), Is.GreaterThan(10), "a blank page has one colour");
        // Only drawn data has these colours in quantity: a legend swatch is 100 pixels (10 x 10), a 2-pixel line across an
        // agent's plot (234 pixels wide) some 470, less where the agent's other lines cross it (287 seen for memory). More
        // than 150 is the swatch and a visible stretch of line. The page's colours: cpu #1f77b4, memory #ff7f0e, requests
        // #2ca02c, the first agent's round trip #9467bd.
        foreach (var (what, colour) in new[] { ("cpu", "#1f77b4"), ("memory", "#ff7f0e"), ("requests", "#2ca02c"), ("round trip", "#9467bd") })
        {
            Assert.That(image.CountNear(colour, tolerance: 24), Is.GreaterThan(150), $"pixels of the {what} line ({colour})");
        }
    }

    private static async Task ScreenshotAsync(string chromium, Uri page, string file)
    {
        var profile = Directory.CreateTempSubdirectory("telemetry-chromium-");
        try
        {
            var start = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", $"--user-data-dir={profile.FullName}",
                $"--screenshot={file}", "--window-size=1000,700", page.ToString(),
            })
            {
                start.ArgumentList.Add(argument);
            }
            using var browser = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {chromium}");
            // Chromium writes warnings (no D-Bus, no GPU): read both pipes so that it never blocks on a full one.
            var output = browser.StandardOutput.ReadToEndAsync();
            var errors = browser.StandardError.ReadToEndAsync();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await browser.WaitForExitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                browser.Kill(entireProcessTree: true);
                Assert.Fail($"Chromium took more than a minute:\n{await errors}");
            }
            Assert.That(File.Exists(file), Is.True, $"Chromium wrote no screenshot (exit {browser.ExitCode}):\n{await output}\n{await errors}");
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    /// <summary>Polls <c>/data</c> until <paramref name="ready"/> holds, within the bound; returns that document.</summary>
    private async Task<JsonElement> PollAsync(HttpClient http, Func<JsonElement, bool> ready)
    {
        var deadline = DateTime.UtcNow + Bound;
        JsonElement data;
        while (!ready(data = await http.GetFromJsonAsync<JsonElement>(new Uri("/data", UriKind.Relative))))
        {
            if (DateTime.UtcNow > deadline)
            {
                string log;
                lock (_log)
                {
                    log = string.Join('\n', _log);
                }
                Assert.Fail($"/data never got there within {Bound.TotalSeconds} s; last: {data}\ncollector log:\n{log}");
            }
            await Task.Delay(100);
        }
        return data;
    }

    private static double Rate(JsonElement data, string agent, string series) => data.GetProperty("series").EnumerateArray()
        .Where(r => r.GetProperty("agent").GetString() == agent && r.GetProperty("series").GetString() == series)
        .Select(r => r.GetProperty("rate").GetDouble())
        .DefaultIfEmpty(0)
        .Single();

    private static double RoundTrip(JsonElement data, string agent) => data.GetProperty("agents").EnumerateArray()
        .Where(a => a.GetProperty("agent").GetString() == agent && a.GetProperty("roundTripMs").ValueKind == JsonValueKind.Number)
        .Select(a => a.GetProperty("roundTripMs").GetDouble())
        .DefaultIfEmpty(0)
        .Single();
}
