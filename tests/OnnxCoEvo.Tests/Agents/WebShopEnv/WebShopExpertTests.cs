using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using Xunit.Abstractions;

namespace OnnxCoEvo.Tests.Agents.WebShopEnv;

/// <summary>The synthetic catalog every expert test shares (generated once per test run).</summary>
internal static class SyntheticWebShop
{
    private static readonly Lazy<WebShopEnvironmentSuite> Shared =
        new(() => new WebShopEnvironmentSuite(WebShopCatalogGenerator.Generate(new WebShopSyntheticOptions { Seed = 0 })));

    public static WebShopEnvironmentSuite Suite => Shared.Value;

    /// <summary>Rates with one mode at 1 and the others at 0.</summary>
    public static ExpertOptions Only(string mode) => new()
    {
        FailureRates = WebShopExpert.DefaultFailureRates.Keys.ToDictionary(m => m, m => m == mode ? 1.0 : 0.0),
    };
}

public sealed class WebShopExpertTests(ITestOutputHelper output)
{
    private static WebShopEnvironmentSuite Suite => SyntheticWebShop.Suite;

    /// <summary>Enough train tasks for a mode's effect to show, few enough to keep the tests fast.</summary>
    private static IEnumerable<EnvironmentTask> SomeTrainTasks => Suite.Tasks(EnvironmentSplits.Train).Take(160);

    private static WebShopGoal GoalOf(EnvironmentTask task) => Suite.Catalog.Goals[task.Index];

    private static async Task<List<(EnvironmentTask Task, WebShopEpisode Episode)>> RunAsync(ExpertOptions options, IEnumerable<EnvironmentTask> tasks)
    {
        await using IPolicy expert = Suite.CreateExpert(options);
        EnvironmentTask[] list = tasks.ToArray();
        List<WebShopEpisode> episodes = await WebShopEpisodes.RunAllAsync(Suite, expert, list);
        return list.Zip(episodes).ToList();
    }

    private static double FailureRate(IEnumerable<(EnvironmentTask, WebShopEpisode Episode)> runs) => runs.Average(r => r.Episode.Success ? 0.0 : 1.0);

    /// <summary>Whether any results page the episode saw lists the goal's product.</summary>
    private static bool SawTarget(EnvironmentTask task, WebShopEpisode episode) =>
        episode.Conversation.Where(m => m.Role == ChatRole.User)
            .Select(m => WebShopPageReader.Read(WebShopPageReader.StripPrefixes(m.Content)))
            .Any(view => view.Listings.Any(l => l.Asin == GoalOf(task).Asin));

    [Fact]
    public async Task NoFailureExpertBuysTheTargetOnTheHandBuiltCatalog()
    {
        var suite = new WebShopEnvironmentSuite(WebShopTestCatalog.Create());
        await using IPolicy expert = suite.CreateExpert(new ExpertOptions { NoFailures = true });
        WebShopEpisode episode = await WebShopEpisodes.RunAsync(suite, expert, suite.Task(0), 1);
        Assert.Equal(1.0, episode.Reward);
        Assert.Equal("B0SHAMP001", episode.PurchasedAsin);
        Assert.Contains("click[16 fl oz]", episode.Actions);
        Assert.Contains("click[lavender]", episode.Actions);
        Assert.Equal("click[Buy Now]", episode.Actions[^1]);
        Assert.Equal(0, episode.RejectedActions);
    }

    [Fact]
    public async Task DefaultExpertFailsOnThirtyToFiftyPercentOfTrainTasksKeepingCorrectStretches()
    {
        var report = new List<string>();
        foreach (string split in Suite.Splits)
        {
            var runs = await RunAsync(new ExpertOptions(), Suite.Tasks(split));
            double failures = FailureRate(runs);
            report.Add($"{split}: {runs.Count} tasks, success {100 * (1 - failures):F1}%, mean reward x100 {100 * runs.Average(r => r.Episode.Reward):F1}");
            Assert.All(runs, r => Assert.Equal(0, r.Episode.RejectedActions));
            if (split != EnvironmentSplits.Train)
                continue;
            Assert.InRange(failures, 0.30, 0.50);
            // Most failures still searched well enough to see the target, and most still bought something.
            var failed = runs.Where(r => !r.Episode.Success).ToList();
            Assert.True(failed.Count(r => SawTarget(r.Task, r.Episode)) >= failed.Count / 2);
            Assert.True(failed.Count(r => r.Episode.Done) >= failed.Count / 2);
        }
        foreach (string line in report)
            output.WriteLine(line);
    }

    [Fact]
    public async Task NoFailureExpertSucceedsOnAtLeast95PercentOfTrainTasks()
    {
        var runs = await RunAsync(new ExpertOptions { NoFailures = true }, Suite.Tasks(EnvironmentSplits.Train));
        double success = 1 - FailureRate(runs);
        output.WriteLine($"no-failure expert, train: success {100 * success:F1}%, mean reward x100 {100 * runs.Average(r => r.Episode.Reward):F1}");
        Assert.True(success >= 0.95, $"success {success:P1}");
        Assert.All(runs, r => Assert.True(r.Episode.Done && r.Episode.Actions.Count <= 10 && r.Episode.RejectedActions == 0));
    }

    [Fact]
    public async Task SearchWithInstructionRepeatsTheInstructionWhenItListsTheTargetAndStillSucceeds()
    {
        var options = new ExpertOptions { NoFailures = true, SearchWithInstruction = true };
        var runs = await RunAsync(options, SomeTrainTasks);
        int verbatim = runs.Count(r => r.Episode.Actions[0] == $"search[{GoalOf(r.Task).InstructionText}]");
        output.WriteLine($"instruction searches: {verbatim} of {runs.Count}; success {100 * (1 - FailureRate(runs)):F1}%");
        // The instruction lists the target on page 1 for most goals; the others fall back to keywords.
        Assert.InRange(verbatim, runs.Count * 6 / 10, runs.Count - 1);
        Assert.True(FailureRate(runs) <= 0.05, $"failure rate {FailureRate(runs):P1}");
        await using var keywordExpert = (WebShopExpert)Suite.CreateExpert(new ExpertOptions { NoFailures = true });
        Assert.All(runs.Where(r => r.Episode.Actions[0] != $"search[{GoalOf(r.Task).InstructionText}]"),
            r => Assert.Equal($"search[{keywordExpert.PlanFor(r.Task.Index).GoodQuery}]", r.Episode.Actions[0]));
    }

    [Fact]
    public async Task VagueSearchUsesGenericKeywordsAndOftenBuysANearDuplicate()
    {
        var runs = await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.VagueSearch), SomeTrainTasks);
        await using var expert = (WebShopExpert)Suite.CreateExpert(SyntheticWebShop.Only(WebShopExpertPlanner.VagueSearch));
        foreach ((EnvironmentTask task, WebShopEpisode episode) in runs)
        {
            WebShopExpertPlan plan = expert.PlanFor(task.Index);
            Assert.Equal($"search[{plan.MisleadingQuery}]", episode.Actions[0]);
            Assert.True(WebShopText.Words(plan.MisleadingQuery!).Length < WebShopText.Words(plan.GoodQuery).Length);
        }
        Assert.True(FailureRate(runs) >= 0.3, $"failure rate {FailureRate(runs):P1}");
        int nearDuplicates = runs.Count(r => r.Episode.PurchasedAsin is { } asin && asin != GoalOf(r.Task).Asin
                                             && Suite.Catalog.FindProduct(asin)!.Query == GoalOf(r.Task).Query);
        Assert.True(nearDuplicates >= runs.Count / 5, $"{nearDuplicates} near-duplicates bought");
    }

    [Fact]
    public async Task WrongSearchMissesTheTargetAndSometimesSearchesAgain()
    {
        var runs = await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.WrongSearch), SomeTrainTasks);
        // Look-alikes found by wrong keywords sometimes satisfy the goal too (WebShop rewards attributes, not the asin).
        Assert.True(FailureRate(runs) >= 0.4, $"failure rate {FailureRate(runs):P1}");
        var again = runs.Where(r => r.Episode.Actions.Contains("click[Back to Search]")).ToList();
        Assert.NotEmpty(again);
        Assert.True(again.Count < runs.Count / 2);
        // A second search after going back uses the good keywords, which list the target.
        Assert.True(again.Count(r => SawTarget(r.Task, r.Episode)) >= again.Count * 3 / 4);
    }

    [Fact]
    public async Task WrongItemOpensANeighbourAfterAGoodSearch()
    {
        var runs = await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.WrongItem), SomeTrainTasks);
        Assert.All(runs, r => Assert.True(SawTarget(r.Task, r.Episode)));
        Assert.True(runs.Count(r => r.Episode.PurchasedAsin != GoalOf(r.Task).Asin) >= runs.Count * 9 / 10);
        Assert.True(FailureRate(runs) >= 0.6, $"failure rate {FailureRate(runs):P1}");
    }

    [Fact]
    public async Task MissingOptionSkipsOneGoalOption()
    {
        var runs = (await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.MissingOption), SomeTrainTasks))
            .Where(r => GoalOf(r.Task).GoalOptions.Count > 0).ToList();
        Assert.NotEmpty(runs);
        await using var expert = (WebShopExpert)Suite.CreateExpert(SyntheticWebShop.Only(WebShopExpertPlanner.MissingOption));
        foreach ((EnvironmentTask task, WebShopEpisode episode) in runs)
        {
            Assert.Equal(GoalOf(task).Asin, episode.PurchasedAsin);
            Assert.DoesNotContain($"click[{expert.PlanFor(task.Index).SkippedOption}]", episode.Actions);
        }
        Assert.True(FailureRate(runs) >= 0.9, $"failure rate {FailureRate(runs):P1}");
    }

    [Fact]
    public async Task OverBudgetBuysAPricierLookalike()
    {
        var runs = await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.OverBudget), SomeTrainTasks);
        var swapped = runs.Where(r => r.Episode.PurchasedAsin is { } asin && asin != GoalOf(r.Task).Asin).ToList();
        Assert.True(swapped.Count >= runs.Count / 5, $"{swapped.Count} of {runs.Count} bought another product");
        Assert.All(swapped, r =>
        {
            Assert.True(Suite.Catalog.FindProduct(r.Episode.PurchasedAsin!)!.Pricing[0] > GoalOf(r.Task).PriceUpper);
            Assert.True(r.Episode.Reward < 1.0);
        });
    }

    [Fact]
    public async Task DitheringViewsExtraPagesAndSometimesRunsOutOfSteps()
    {
        var runs = await RunAsync(SyntheticWebShop.Only(WebShopExpertPlanner.Dithering), SomeTrainTasks);
        Assert.All(runs, r => Assert.Contains(r.Episode.Actions, a => a is "click[Reviews]" or "click[Features]" or "click[Description]" or "click[Next >]"));
        var timedOut = runs.Where(r => !r.Episode.Done).ToList();
        Assert.True(timedOut.Count >= runs.Count / 10, $"{timedOut.Count} of {runs.Count} timed out");
        Assert.True(timedOut.Count <= runs.Count * 3 / 4);
        // Timed-out episodes had opened the right product: the failure is the dawdling, not the choice.
        Assert.All(timedOut, r => Assert.Contains($"click[{GoalOf(r.Task).Asin}]", r.Episode.Actions));
        Assert.All(timedOut, r => Assert.Equal(0.0, r.Episode.Reward));
    }

    [Fact]
    public async Task DecisionsAreAPureFunctionOfSeedTaskAndSample()
    {
        EnvironmentTask[] tasks = Suite.Tasks(EnvironmentSplits.Train).Take(40).ToArray();
        async Task<string[]> TextsAsync(ulong seed, int sample)
        {
            await using IPolicy expert = Suite.CreateExpert(new ExpertOptions { Seed = seed });
            var texts = new List<string>();
            long id = 100;
            foreach (EnvironmentTask task in tasks)
            {
                WebShopEpisode episode = await WebShopEpisodes.RunAsync(Suite, expert, task, id++, sample);
                texts.Add(string.Join("\n", episode.Conversation.Select(m => m.Content)));
            }
            return [.. texts];
        }
        string[] first = await TextsAsync(7, 0);
        Assert.Equal(first, await TextsAsync(7, 0));
        Assert.NotEqual(first, await TextsAsync(7, 1));
        Assert.NotEqual(first, await TextsAsync(8, 0));
    }

    [Fact]
    public async Task EndEpisodeForgetsTheEpisodesProgress()
    {
        // A wrong search happens once per episode: an expert that kept the old state would search well the second time.
        await using IPolicy expert = Suite.CreateExpert(SyntheticWebShop.Only(WebShopExpertPlanner.WrongSearch));
        EnvironmentTask task = Suite.Tasks(EnvironmentSplits.Train)[0];
        WebShopEpisode first = await WebShopEpisodes.RunAsync(Suite, expert, task, 5);
        WebShopEpisode second = await WebShopEpisodes.RunAsync(Suite, expert, task, 5);
        Assert.Equal(first.Conversation, second.Conversation);

        // An id reused for another task without EndEpisode follows that task's plan, not the stale one.
        EnvironmentTask other = Suite.Tasks(EnvironmentSplits.Train)[1];
        await using IPolicy fresh = Suite.CreateExpert(SyntheticWebShop.Only(WebShopExpertPlanner.WrongSearch));
        IReadOnlyList<ChatMessage> start = Suite.Protocol.StartConversation(WebShopPages.Search(Suite.Catalog.Goals[task.Index].InstructionText).Text);
        await expert.ActAsync([new PolicyRequest(9, task, start)]);
        WebShopEpisode reused = await WebShopEpisodes.RunAsync(Suite, expert, other, 9);
        Assert.Equal((await WebShopEpisodes.RunAsync(Suite, fresh, other, 1)).Conversation, reused.Conversation);
    }

    [Fact]
    public async Task ThoughtsAreVariedAndEveryTurnParses()
    {
        var runs = await RunAsync(new ExpertOptions(), Suite.Tasks(EnvironmentSplits.Train).Take(60));
        var thoughts = new HashSet<string>();
        foreach (ChatMessage turn in runs.SelectMany(r => r.Episode.Conversation).Where(m => m.Role == ChatRole.Assistant).Skip(1))
        {
            if (turn.Content == ReActProtocol.Acknowledgement)
                continue;
            ReActStep step = ReActParser.Parse(turn.Content);
            Assert.True(step.IsValid);
            Assert.Matches("^I (think|need) ", step.Thought!);
            thoughts.Add(step.Thought!);
        }
        Assert.True(thoughts.Count >= 100, $"{thoughts.Count} distinct thoughts");
    }
}
