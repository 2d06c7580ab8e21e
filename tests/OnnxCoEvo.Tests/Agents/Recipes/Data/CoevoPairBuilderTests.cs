using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class CoevoPairBuilderTests
{
    private static Trajectory Target(string task, double reward, int sample = 0) => Build(task, 3, reward, "target", "t", sample: sample);
    private static Trajectory Failing(string task, double reward, int sample = 0) => Build(task, 4, reward, "failure-agent", "f", sample: sample);

    [Fact]
    public void Failure_agent_pairs_never_hold_a_success_on_either_side()
    {
        double[] rewards = [0.0, 0.25, 0.5, 0.75, 1.0, 0.875, 1.0];
        var targets = new List<Trajectory>();
        var failures = new List<Trajectory>();
        for (int i = 0; i < 60; i++)
        {
            targets.Add(Target($"task{i % 6}", rewards[(i * 3 + 1) % rewards.Length], i));
            failures.Add(Failing($"task{i % 6}", rewards[(i * 5 + 2) % rewards.Length], i));
        }

        IReadOnlyList<PreferencePair> pairs = CoevoPairBuilder.FailureAgentPairs(targets, failures, new CoevoOptions { MaxPairsPerTask = 100 });

        Assert.NotEmpty(pairs);
        Assert.All(pairs, p =>
        {
            Assert.True(p.ChosenReward < 1 && p.RejectedReward < 1, $"{p.Id}: {p.ChosenReward} vs {p.RejectedReward}");
            Assert.True(p.ChosenReward > p.RejectedReward);
            Assert.True(p.IsValid);
        });
        Assert.Equal(pairs.Count, pairs.Select(p => p.Id).Distinct().Count());
        Assert.Contains(pairs, p => p.Chosen[0].Content.StartsWith('t')); // both directions occur
        Assert.Contains(pairs, p => p.Chosen[0].Content.StartsWith('f'));
    }

    [Fact]
    public void Failure_pairs_take_the_largest_reward_gaps_first_drop_ties_and_are_capped_per_task()
    {
        Trajectory[] targets = [Target("t1", 0.0), Target("t1", 0.5, 1), Target("t1", 1.0, 2)];
        Trajectory[] failures = [Failing("t1", 0.25), Failing("t1", 0.75, 1), Failing("t1", 0.5, 2), Failing("t2", 0.5)];

        IReadOnlyList<PreferencePair> two = CoevoPairBuilder.FailureAgentPairs(targets, failures);
        Assert.Equal([(0.75, 0.0), (0.5, 0.0)], two.Select(p => (p.ChosenReward!.Value, p.RejectedReward!.Value)));
        Assert.Equal(["coevo:failure-agent:t1#0", "coevo:failure-agent:t1#1"], two.Select(p => p.Id));
        Assert.All(two, p => Assert.Equal("coevo", p.Source));

        IReadOnlyList<PreferencePair> all = CoevoPairBuilder.FailureAgentPairs(targets, failures, new CoevoOptions { MaxPairsPerTask = 10 });
        // 2 target failures x 3 agent failures = 6, minus the 0.5/0.5 tie; the target's success never pairs.
        Assert.Equal([(0.75, 0.0), (0.5, 0.0), (0.25, 0.0), (0.5, 0.25), (0.75, 0.5)], all.Select(p => (p.ChosenReward!.Value, p.RejectedReward!.Value)));
        Assert.Equal(["t0", "t1", "t2"], Actions(all[3].Chosen)); // the target's failure is chosen over a worse one
    }

    [Fact]
    public void Target_pairs_mix_three_types_each_capped_per_task_and_only_successful_experts_are_chosen()
    {
        Trajectory[] experts = [Build("t1", 2, 1.0), Build("t2", 2, 0.5)];
        Trajectory[] targets = [Target("t1", 0.125), Target("t1", 0.75, 1), Target("t1", 0.5, 2), Target("t1", 1.0, 3), Target("t2", 0.125)];
        Trajectory[] failures = [Failing("t1", 0.875), Failing("t1", 0.0, 1), Failing("t2", 0.375)];

        CoevoTargetPairs pairs = CoevoPairBuilder.TargetPairs(experts, targets, failures);

        Assert.Equal([(1.0, 0.75), (1.0, 0.5)], pairs.ExpertVsTarget.Select(p => (p.ChosenReward!.Value, p.RejectedReward!.Value)));
        Assert.Equal(["coevo:expert-vs-target:t1#0", "coevo:expert-vs-target:t1#1"], pairs.ExpertVsTarget.Select(p => p.Id));
        Assert.Equal([(1.0, 0.875), (1.0, 0.0)], pairs.ExpertVsFailureAgent.Select(p => (p.ChosenReward!.Value, p.RejectedReward!.Value)));
        Assert.Equal([(0.875, 0.125), (0.75, 0.0), (0.375, 0.125)], pairs.FailureVsFailure.Select(p => (p.ChosenReward!.Value, p.RejectedReward!.Value)));
        Assert.Equal(["coevo:failure-vs-failure:t1#0", "coevo:failure-vs-failure:t1#1", "coevo:failure-vs-failure:t2#0"], pairs.FailureVsFailure.Select(p => p.Id));
        Assert.Equal(7, pairs.All.Count);
        Assert.All(pairs.All, p => Assert.True(p.IsValid));
        Assert.Equal(["expert-vs-target", "expert-vs-failure-agent", "failure-vs-failure"],
            new[] { pairs.ExpertVsTarget[0], pairs.ExpertVsFailureAgent[0], pairs.FailureVsFailure[0] }.Select(p => p.Metadata.GetString(CoevoPairBuilder.PairTypeKey)));
        // The expert side: its two actions, the rejected target cut to 2 + 5 = 7 at most (it has 3).
        Assert.Equal(["a0", "a1"], Actions(pairs.ExpertVsTarget[0].Chosen));
        Assert.Equal(["t0", "t1", "t2"], Actions(pairs.ExpertVsTarget[0].Rejected));

        CoevoTargetPairs one = CoevoPairBuilder.TargetPairs(experts, targets, failures, new CoevoOptions { MaxPairsPerTask = 1 });
        Assert.Equal((1, 1, 2), (one.ExpertVsTarget.Count, one.ExpertVsFailureAgent.Count, one.FailureVsFailure.Count));
    }

    [Fact]
    public void Two_experts_of_one_task_are_an_error()
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => CoevoPairBuilder.TargetPairs([Build("t1", 2, 1.0), Build("t1", 3, 0.5)], [], []));
        Assert.Contains("'t1'", error.Message);
    }

    [Fact]
    public void Near_success_share_counts_failures_at_or_above_the_floor()
    {
        Assert.Equal(0.5, CoevoPairBuilder.NearSuccessShare([Target("t1", 0.6), Target("t1", 0.75), Target("t1", 1.0), Target("t1", 0.25)]));
        Assert.Equal(0, CoevoPairBuilder.NearSuccessShare([]));
    }
}
