using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Environments.Household;
using OnnxCoEvo.Agents.Policies;
using Xunit;
using Xunit.Abstractions;

namespace OnnxCoEvo.Tests.Agents.Household;

public sealed class HouseholdExpertTests(ITestOutputHelper output)
{
    private static readonly HouseholdEnvironmentSuite Suite = new(new HouseholdOptions { Seed = 7 });

    [Fact]
    public async Task Default_expert_fails_30_to_50_percent_of_train_tasks()
    {
        await using IPolicy expert = Suite.CreateExpert(new ExpertOptions { Seed = 7 });
        foreach (string split in new[] { EnvironmentSplits.Train, EnvironmentSplits.TestSeen, EnvironmentSplits.TestUnseen })
        {
            IReadOnlyList<HouseholdEpisode> episodes = await HouseholdEpisodeRunner.RunAllAsync(Suite, expert, Suite.Tasks(split));
            double success = episodes.Average(e => e.Success ? 1.0 : 0.0);
            output.WriteLine($"{split}: {episodes.Count} tasks, success {success:P1}, mean reward x100 {100 * episodes.Average(e => e.Reward):F1}, mean steps {episodes.Average(e => e.Steps):F1}");
            if (split == EnvironmentSplits.Train)
                Assert.InRange(1 - success, 0.30, 0.50);
        }
    }
}
