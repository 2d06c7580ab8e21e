using OnnxCoEvo.Agents.Recipes.Runs;

namespace OnnxCoEvo.Tests.Agents.Recipes.Runs;

public sealed class RunProgressTests
{
    [Fact]
    public void Throttled_progress_reports_at_most_once_per_interval_on_the_callers_thread()
    {
        var seen = new List<int>();
        var never = new ThrottledProgress<int>(seen.Add, TimeSpan.FromHours(1));
        for (int i = 0; i < 100; i++) never.Report(i);
        Assert.Empty(seen);

        var always = new ThrottledProgress<int>(seen.Add, TimeSpan.Zero);
        for (int i = 0; i < 5; i++) always.Report(i);
        Assert.Equal([0, 1, 2, 3, 4], seen);   // synchronous: no posting to a context, nothing lost
    }
}
