using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Rollouts;

public sealed class EpisodeReplayTests
{
    private static readonly CounterEnvironmentSuite Suite = new();

    private static async Task<Trajectory> RecordAsync(int taskIndex, Func<PolicyRequest, string>? turn = null)
    {
        var sink = new InMemoryRolloutSink();
        await new RolloutFarm(Suite, new ScriptedPolicy(turn ?? RolloutFarmTests.CounterTurn, "expert:counter"))
            .RunAsync([new RolloutWorkItem(Suite.Task(taskIndex))], sink);
        return Assert.Single(sink.Trajectories);
    }

    [Fact]
    public async Task Restoring_every_prefix_reproduces_the_recording_and_continuing_finishes_it_identically()
    {
        // Task 9: target 5; one invalid-format turn first, so replay also covers turns that never reach the environment.
        Func<PolicyRequest, string> turn = r => r.Conversation.Count == 3 ? "no action here" : RolloutFarmTests.CounterTurn(r);
        Trajectory recorded = await RecordAsync(9, turn);
        int steps = EpisodeReplay.CountSteps(recorded);
        Assert.Equal(7, steps);

        for (int k = 0; k <= steps; k++)
        {
            await using Episode episode = await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(9), recorded, k);
            Assert.Equal(recorded.Turns.Take(3 + 2 * k), episode.Turns);
            Assert.Equal(k, episode.Steps);
            Assert.Equal(k, episode.ReplayedSteps);
            if (k == steps)
                continue;
            var policy = new ScriptedPolicy(turn);
            while (!episode.IsFinished)
                await episode.ApplyAsync((await policy.ActAsync([episode.ToRequest()]))[0]);
            Assert.Equal(recorded.Turns, episode.Turns);
            Assert.Equal(recorded.Reward, episode.Reward);
        }
    }

    [Fact]
    public async Task A_different_observation_is_a_divergence_naming_the_step()
    {
        Trajectory recorded = await RecordAsync(4);
        List<ChatMessage> turns = [.. recorded.Turns];
        turns[6] = ChatMessage.User("Observation: value 7, target 5\nAVAILABLE ACTIONS: inc,dec,submit");
        Trajectory tampered = recorded with { Turns = turns };

        var ex = await Assert.ThrowsAsync<ReplayDivergenceException>(async () =>
            await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(4), tampered, 3));
        Assert.Equal(2, ex.Step);
        Assert.Equal("inc", ex.Action);
        Assert.Contains("counter_4", ex.Message);
        Assert.Contains("value 7", ex.Message);
        Assert.Contains("value 2", ex.Message);

        // The prefix before the tampered step still restores.
        await using Episode ok = await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(4), tampered, 1);
        Assert.Equal(1, ok.Steps);
    }

    [Fact]
    public async Task A_recording_that_goes_on_after_the_environment_finished_diverges()
    {
        Trajectory recorded = await RecordAsync(0); // target 1: inc, submit
        List<ChatMessage> turns = [.. recorded.Turns];
        turns[5] = ChatMessage.Assistant("Thought: early\nAction: submit");
        turns.Add(ChatMessage.Assistant("Thought: more\nAction: inc"));
        turns.Add(ChatMessage.User("Observation: value 2, target 1"));
        var ex = await Assert.ThrowsAsync<ReplayDivergenceException>(async () =>
            await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(0), recorded with { Turns = turns }, 3));
        Assert.Contains("finished at step 2", ex.Message);
    }

    [Fact]
    public async Task Restored_episodes_run_in_the_farm_and_are_written_with_their_replay_depth()
    {
        Trajectory recorded = await RecordAsync(9, r => "Thought: wrong way\nAction: dec");
        Assert.Equal(TrajectoryEndReason.MaxSteps, recorded.EndReason);
        var sink = new InMemoryRolloutSink();
        var work = new[] { new RolloutWorkItem(Suite.Task(9), 0, recorded, 2), new RolloutWorkItem(Suite.Task(9), 0, recorded, 4) };
        await new RolloutFarm(Suite, new ScriptedPolicy(RolloutFarmTests.CounterTurn)).RunAsync(work, sink);

        Assert.Equal(2, sink.Trajectories.Count);
        // The deeper probe times out first, so it is written first.
        Assert.Equal(work.Select(w => w.Key).Reverse(), sink.Trajectories.Select(RolloutPlan.KeyOf));
        // From value -2 (after two "dec") the counter needs 7 incs and a submit: 2 + 8 = 10 steps, exactly the limit.
        Trajectory fromTwo = sink.Trajectories[1];
        Assert.Equal(10, fromTwo.Steps);
        Assert.Equal(1.0, fromTwo.Reward);
        Assert.Equal(recorded.Turns.Take(7), fromTwo.Turns.Take(7));
        // From value -4 the limit comes first: a timeout with reward 0.
        Assert.Equal(TrajectoryEndReason.MaxSteps, sink.Trajectories[0].EndReason);
        Assert.Equal(0, sink.Trajectories[0].Reward);
    }

    [Fact]
    public async Task Replay_arguments_are_checked()
    {
        Trajectory recorded = await RecordAsync(2);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(2), recorded, 99));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await EpisodeReplay.RestoreAsync(Suite.CreateSession(), Suite.Protocol, Suite.Task(3), recorded, 1));
    }
}
