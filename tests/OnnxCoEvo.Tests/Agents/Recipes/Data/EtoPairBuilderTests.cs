using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class EtoPairBuilderTests
{
    [Fact]
    public void Expert_wins_against_a_lower_reward_and_the_agent_is_cut_to_expert_length_plus_five()
    {
        Trajectory expert = Build("t1", actions: 3, reward: 1.0);
        Trajectory agent = Build("t1", actions: 10, reward: 0.5, policy: "agent", actionPrefix: "b");

        EtoPairingResult result = EtoPairBuilder.Build([expert], [agent]);

        PreferencePair pair = Assert.Single(result.Pairs);
        Assert.Equal((0, 1, 0, 0), (result.AgentWins, result.ExpertWins, result.Ties, result.MissingExpert));
        Assert.Equal("eto:t1", pair.Id);
        Assert.Equal("eto", pair.Source);
        Assert.Equal(expert.Turns.Take(3), pair.Prompt);
        Assert.Equal(["a0", "a1", "a2"], Actions(pair.Chosen));
        Assert.Equal(5, pair.Chosen.Count); // a0 o1 a1 o2 a2: the final observation is cut
        Assert.Equal(["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"], Actions(pair.Rejected));
        Assert.Equal(ChatRole.Assistant, pair.Chosen[0].Role);
        Assert.Equal(ChatRole.Assistant, pair.Chosen[^1].Role);
        Assert.Equal(ChatRole.Assistant, pair.Rejected[0].Role);
        Assert.Equal(ChatRole.Assistant, pair.Rejected[^1].Role);
        Assert.Equal((1.0, 0.5), (pair.ChosenReward, pair.RejectedReward));
        Assert.True(pair.IsValid);
    }

    [Fact]
    public void Agent_wins_when_it_beats_the_experts_own_reward()
    {
        Trajectory expert = Build("t1", actions: 9, reward: 0.5);
        Trajectory agent = Build("t1", actions: 2, reward: 0.75, policy: "agent", actionPrefix: "b", endOnObservation: false);

        EtoPairingResult result = EtoPairBuilder.Build([expert], [agent]);

        PreferencePair pair = Assert.Single(result.Pairs);
        Assert.Equal((1, 0), (result.AgentWins, result.ExpertWins));
        Assert.Equal(["b0", "b1"], Actions(pair.Chosen));
        Assert.Equal(["a0", "a1", "a2", "a3", "a4", "a5", "a6"], Actions(pair.Rejected)); // agent's 2 + 5
        Assert.Equal((0.75, 0.5), (pair.ChosenReward, pair.RejectedReward));
    }

    [Fact]
    public void Ties_are_dropped_and_tasks_without_an_expert_are_counted()
    {
        Trajectory[] experts = [Build("t1", 3, 1.0), Build("t2", 3, 0.5)];
        Trajectory[] explored = [Build("t1", 4, 1.0, "agent", "b"), Build("t2", 4, 0.5, "agent", "b"), Build("t3", 4, 0.0, "agent", "b"), Build("t2", 2, 0.0, "agent", "b")];

        EtoPairingResult result = EtoPairBuilder.Build(experts, explored);

        Assert.Equal((0, 1, 2, 1), (result.AgentWins, result.ExpertWins, result.Ties, result.MissingExpert));
        Assert.Equal("eto:t2#1", Assert.Single(result.Pairs).Id); // the second explored trajectory of t2
    }

    [Fact]
    public void Several_explored_trajectories_of_one_task_each_pair_with_distinct_ids()
    {
        Trajectory expert = Build("t1", 3, 1.0);
        EtoPairingResult result = EtoPairBuilder.Build([expert], [Build("t1", 2, 0.0, "agent", "b", sample: 0), Build("t1", 4, 0.25, "agent", "b", sample: 1)]);
        Assert.Equal(["eto:t1", "eto:t1#1"], result.Pairs.Select(p => p.Id));
    }

    [Fact]
    public void Continuation_turns_are_all_trained_even_when_the_source_masked_them()
    {
        Trajectory expert = Build("t1", 3, 1.0);
        expert = expert with { Turns = [.. expert.Turns.Select((t, i) => i == 5 ? t with { Loss = false } : t)] };
        PreferencePair pair = Assert.Single(EtoPairBuilder.Build([expert], [Build("t1", 3, 0.0, "agent", "b")]).Pairs);
        Assert.All(pair.Chosen, t => Assert.Null(t.Loss));
        Assert.False(pair.Prompt[1].Loss); // the "OK" reply stays as recorded
    }

    [Fact]
    public void Different_prompts_are_an_error_naming_the_task()
    {
        Trajectory expert = Build("t1", 3, 1.0);
        Trajectory agent = Build("t1", 3, 0.0, "agent", "b");
        agent = agent with { Turns = [.. agent.Turns.Select((t, i) => i == 2 ? ChatMessage.User("another page") : t)] };
        ArgumentException error = Assert.Throws<ArgumentException>(() => EtoPairBuilder.Build([expert], [agent]));
        Assert.Contains("'t1'", error.Message);
    }

    [Fact]
    public void Two_experts_for_a_task_and_broken_turn_order_are_errors()
    {
        Assert.Contains("'t1'", Assert.Throws<ArgumentException>(() => EtoPairBuilder.Build([Build("t1", 3, 1.0), Build("t1", 2, 1.0)], [])).Message);
        Trajectory agent = Build("t1", 3, 0.0, "agent", "b");
        agent = agent with { Turns = [.. agent.Turns.Take(4), ChatMessage.Assistant("twice")] };
        Assert.Contains("turn 4", Assert.Throws<ArgumentException>(() => EtoPairBuilder.Build([Build("t1", 3, 1.0)], [agent])).Message);
    }

    [Fact]
    public void An_agent_that_took_no_action_gives_no_pair()
    {
        EtoPairingResult result = EtoPairBuilder.Build([Build("t1", 3, 1.0)], [Build("t1", 0, 0.0, "agent", "b")]);
        Assert.Empty(result.Pairs);
        Assert.Equal((0, 1), (result.ExpertWins, result.Unpairable));
    }
}
