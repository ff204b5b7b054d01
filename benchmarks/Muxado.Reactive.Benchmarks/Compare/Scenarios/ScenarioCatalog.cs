namespace Muxado.Reactive.Benchmarks.Compare.Scenarios;

/// <summary>Every scenario of a run, in the order they run and print.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<Scenario> Create(bool quick)
    {
        var sizes = new Sizes(quick);
        var all = new List<Scenario>
        {
            new BulkScenario(sizes),
            new RequestResponseScenario(sizes, 1),
            new RequestResponseScenario(sizes, 16),
            new RequestResponseScenario(sizes, 256),
            new FanoutScenario(sizes),
            new IdleScenario(sizes, 10_000),
            new LatencyScenario(sizes),
            new IdleSessionsScenario(sizes),
            new ActiveSessionsScenario(sizes),
        };
        // 100,000 Nerdbank channels take several seconds per repetition: too long for the quick run's budget.
        if (!quick)
        {
            all.Add(new IdleScenario(sizes, 100_000));
        }
        return all;
    }
}
