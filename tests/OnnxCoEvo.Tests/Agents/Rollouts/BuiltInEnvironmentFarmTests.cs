using System.Text.RegularExpressions;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.WebShop;
using OnnxCoEvo.Agents.Http;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Agents.Rollouts;

/// <summary>The farm, replay and the remote client over the real built-in environments and their experts.</summary>
public sealed partial class BuiltInEnvironmentFarmTests
{
    private static readonly Lazy<IEnvironmentSuite> WebShop = new(() => EnvironmentRegistry.Open("webshop"));
    private static readonly Lazy<IEnvironmentSuite> Household = new(() => EnvironmentRegistry.Open("household"));

    private static async Task<IReadOnlyList<Trajectory>> RunExpertAsync(IEnvironmentSuite suite, IEnvironmentSuite expertOf, string split, int limit, int concurrency = 32)
    {
        await using IPolicy expert = expertOf.CreateExpert(new ExpertOptions { Seed = 1 });
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(suite, expert, new RolloutOptions { Concurrency = concurrency })
            .RunAsync(RolloutPlan.Build(suite.Tasks(split).Take(limit), 1, RolloutShard.Whole), sink);
        Assert.Equal(0, summary.Errors);
        return sink.Trajectories.OrderBy(t => t.TaskId, StringComparer.Ordinal).ToArray();
    }

    [Theory]
    [InlineData("webshop")]
    [InlineData("household")]
    public async Task Every_expert_trajectory_replays_step_by_step(string environment)
    {
        IEnvironmentSuite suite = environment == "webshop" ? WebShop.Value : Household.Value;
        foreach (Trajectory recorded in await RunExpertAsync(suite, suite, EnvironmentSplits.Train, 40))
        {
            EnvironmentTask task = suite.Tasks(EnvironmentSplits.Train).Single(t => t.Id == recorded.TaskId);
            int steps = EpisodeReplay.CountSteps(recorded);
            Assert.Equal(recorded.Steps, steps);
            await using Episode restored = await EpisodeReplay.RestoreAsync(suite.CreateSession(), suite.Protocol, task, recorded, steps);
            Assert.Equal(recorded.Turns, restored.Turns);
            if (recorded.EndReason == TrajectoryEndReason.Done)
                Assert.Equal(recorded.Reward, restored.Reward);
        }
    }

    [Theory]
    [InlineData("webshop")]
    [InlineData("household")]
    public async Task Through_the_farm_the_default_expert_fails_30_to_50_percent_of_the_train_split_and_never_without_failures(string environment)
    {
        IEnvironmentSuite suite = environment == "webshop" ? WebShop.Value : Household.Value;
        int trainTasks = suite.Tasks(EnvironmentSplits.Train).Count;
        IReadOnlyList<Trajectory> episodes = await RunExpertAsync(suite, suite, EnvironmentSplits.Train, trainTasks, concurrency: 128);
        Assert.Equal(trainTasks, episodes.Count);
        double failures = episodes.Count(t => !t.MeetsSuccessRule) / (double)episodes.Count;
        Assert.InRange(failures, 0.30, 0.50);
        // Failed episodes keep correct segments: most of them took more than one step.
        Assert.True(episodes.Where(t => !t.MeetsSuccessRule).Average(t => t.Steps) > 2);

        await using IPolicy perfect = suite.CreateExpert(new ExpertOptions { Seed = 1, NoFailures = true });
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(suite, perfect, new RolloutOptions { Concurrency = 128 })
            .RunAsync(RolloutPlan.Build(suite.Tasks(EnvironmentSplits.Test), 1, RolloutShard.Whole), sink);
        Assert.Equal(1.0, summary.SuccessRate);
    }

    [Fact]
    public async Task A_remote_webshop_server_gives_the_built_in_trajectories()
    {
        IEnvironmentSuite local = WebShop.Value;
        await using AgentGymServer server = await AgentGymServer.StartAsync(local, new AgentGymServerOptions { Port = 0 });
        using var http = new HttpClient();
        RemoteEnvironmentSuite remote = await RemoteEnvironmentSuite.ConnectAsync(server.BaseAddress, http, local);
        Assert.True(remote.TasksFromServer);
        Assert.Equal(local.Tasks(EnvironmentSplits.Test).Select(t => t.Id), remote.Tasks(EnvironmentSplits.Test).Select(t => t.Id));

        IReadOnlyList<Trajectory> viaServer = await RunExpertAsync(remote, local, EnvironmentSplits.Test, 24, concurrency: 12);
        IReadOnlyList<Trajectory> inProcess = await RunExpertAsync(local, local, EnvironmentSplits.Test, 24);
        Assert.Equal(inProcess.Select(TrajectoryJson.Serialize), viaServer.Select(TrajectoryJson.Serialize));
        Assert.Equal(0, server.OpenEnvironments);
    }

    [Fact]
    public async Task The_webshop_expert_searches_only_with_words_a_reader_of_the_instruction_could_use()
    {
        // Allowed: the instruction's words, and the catalog's product types and attribute phrases (what a shopper might
        // type, wrong searches included); not brand or title words the instruction never shows.
        var catalog = ((WebShopEnvironmentSuite)WebShop.Value).Catalog;
        var productTypes = catalog.Goals.SelectMany(g => Words(g.Query).Concat(g.Attributes.SelectMany(Words))).ToHashSet(StringComparer.Ordinal);
        int searches = 0;
        foreach (Trajectory t in await RunExpertAsync(WebShop.Value, WebShop.Value, EnvironmentSplits.Train, 300, concurrency: 64))
        {
            var instruction = Words(t.Turns[2].Content).ToHashSet(StringComparer.Ordinal);
            foreach (var turn in t.Turns.Skip(3).Where(m => m.Role == OnnxCoEvo.Core.Chat.ChatRole.Assistant))
            {
                string? action = ReActParser.Parse(turn.Content).Action;
                if (action is null || !action.StartsWith("search[", StringComparison.Ordinal))
                    continue;
                searches++;
                string[] outside = Words(action["search[".Length..^1]).Where(w => !instruction.Contains(w) && !productTypes.Contains(w)).ToArray();
                Assert.True(outside.Length == 0, $"{t.TaskId}: '{action}' uses {string.Join(", ", outside)}");
            }
        }
        Assert.True(searches >= 300);
    }

    private static IEnumerable<string> Words(string text) => WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value);

    [GeneratedRegex("[a-z0-9']+")]
    private static partial Regex WordPattern();
}
