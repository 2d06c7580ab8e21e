using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Rollouts;

public sealed class RolloutFarmTests
{
    private static readonly CounterEnvironmentSuite Suite = new(trainTasks: 40, testTasks: 5);

    private static IReadOnlyList<RolloutWorkItem> Work(string split = EnvironmentSplits.Train, int samples = 1, RolloutShard? shard = null) =>
        RolloutPlan.Build(Suite.Tasks(split), samples, shard ?? RolloutShard.Whole);

    [Fact]
    public async Task Expert_episodes_follow_the_protocol_and_score_as_the_environment_says()
    {
        await using IPolicy expert = Suite.CreateExpert(new ExpertOptions { Seed = 3 });
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(Suite, expert, new RolloutOptions { Concurrency = 7 }).RunAsync(Work(), sink);

        Assert.Equal(40, summary.Episodes);
        Assert.Equal(40, sink.Trajectories.Count);
        Assert.Equal(sink.Trajectories.Sum(t => t.Steps), summary.Steps);
        Assert.Equal(sink.Trajectories.Count(t => t.Reward == 1.0), summary.Successes);
        Assert.InRange(summary.SuccessRate, 0.3, 0.9); // early_submit 0.4 fails only where the target > 1
        Assert.True(summary.EpisodesPerSecond > 0 && summary.StepsPerSecond > 0);
        foreach (Trajectory t in sink.Trajectories)
        {
            Assert.Equal("counter", t.Environment);
            Assert.Equal("train", t.Split);
            Assert.Equal("expert:counter", t.Policy);
            Assert.Equal(TrajectoryEndReason.Done, t.EndReason);
            Assert.Equal(3 + 2 * t.Steps, t.Turns.Count);
            Assert.Equal(Suite.Protocol.Instruction, t.Turns[0].Content);
            Assert.False(t.Turns[1].Loss);
            Assert.StartsWith("Observation: submitted", t.Turns[^1].Content);
            Assert.Equal(t.Reward == 1.0, t.Success);
            int target = CounterEnvironmentSuite.Target(int.Parse(t.TaskId["counter_".Length..]));
            Assert.Equal(target + 1 - (t.Success ? 0 : 1), t.Steps);
        }
    }

    [Fact]
    public async Task Each_turn_is_one_batched_call_over_every_live_episode_up_to_the_concurrency_bound()
    {
        var policy = new ScriptedPolicy(_ => "Thought: t\nAction: inc");
        RolloutSummary summary = await new RolloutFarm(Suite, policy, new RolloutOptions { Concurrency = 16, MaxSteps = 3 }).RunAsync(Work(), new InMemoryRolloutSink());

        // 40 episodes of exactly 3 steps, 16 at a time: batches of 16, 16, 16, then 24 left: 16, 16, 16, then 8, 8, 8.
        Assert.Equal([16, 16, 16, 16, 16, 16, 8, 8, 8], policy.Batches.Select(b => b.Count));
        Assert.All(policy.Batches, b => Assert.Equal(b.Count, b.Select(r => r.EpisodeId).Distinct().Count()));
        Assert.Equal(40, policy.EndedEpisodes.Count);
        Assert.Equal(9, summary.PolicyCalls);
        Assert.Equal(120 * 3, summary.GeneratedTokens);
        Assert.Equal(120 * 10, summary.PromptTokens);
    }

    [Fact]
    public async Task Timeout_and_invalid_format_follow_the_harness_rules()
    {
        var policy = new ScriptedPolicy(r => r.Conversation.Count < 5 ? "I am thinking without acting." : "Thought: up\nAction: inc");
        var sink = new InMemoryRolloutSink();
        await new RolloutFarm(Suite, policy, new RolloutOptions { MaxSteps = 4 }).RunAsync(Work(EnvironmentSplits.Test), sink);

        Assert.Equal(5, sink.Trajectories.Count);
        foreach (Trajectory t in sink.Trajectories)
        {
            Assert.Equal(TrajectoryEndReason.MaxSteps, t.EndReason);
            Assert.Equal(4, t.Steps);
            Assert.Equal(0, t.Reward);
            Assert.False(t.Success);
            Assert.Equal(ReActProtocol.InvalidFormatObservation, t.Turns[4].Content);
            Assert.StartsWith("Observation: value 1", t.Turns[6].Content);
        }
    }

    [Fact]
    public async Task Episodes_over_their_time_limit_end_with_time_limit()
    {
        var policy = new ScriptedPolicy(_ => "Thought: t\nAction: dec") { BeforeCall = _ => Task.Delay(30) };
        var sink = new InMemoryRolloutSink();
        await new RolloutFarm(Suite, policy, new RolloutOptions { EpisodeTimeLimit = TimeSpan.FromMilliseconds(45) })
            .RunAsync(Work(EnvironmentSplits.Test), sink);

        Assert.All(sink.Trajectories, t =>
        {
            Assert.Equal(TrajectoryEndReason.TimeLimit, t.EndReason);
            Assert.InRange(t.Steps, 1, 3);
            Assert.Equal(0, t.Reward);
        });
    }

    [Fact]
    public async Task A_policy_that_runs_out_of_context_ends_the_episode_with_context_limit()
    {
        var policy = new ScriptedPolicy(_ => "Thought: t\nAction: inc");
        var full = new ContextLimitedPolicy(policy, turnsThatFit: 2);
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(Suite, full).RunAsync(Work(EnvironmentSplits.Test), sink);

        Assert.All(sink.Trajectories, t =>
        {
            Assert.Equal(TrajectoryEndReason.ContextLimit, t.EndReason);
            Assert.Equal(2, t.Steps);
            Assert.Equal(3 + 2 * 2, t.Turns.Count); // the turn that did not fit is not recorded
            Assert.Equal(0, t.Reward);
        });
        Assert.Equal(10, summary.Steps);
    }

    /// <summary>Answers like the inner policy for the first turns of each episode, then says the context is full.</summary>
    private sealed class ContextLimitedPolicy(IPolicy inner, int turnsThatFit) : IPolicy
    {
        public string Name => inner.Name;

        public async ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<PolicyTurn> turns = await inner.ActAsync(batch, cancellationToken);
            return batch.Select((r, i) => (r.Conversation.Count - 3) / 2 < turnsThatFit ? turns[i] : turns[i] with { EndEpisode = TrajectoryEndReason.ContextLimit }).ToArray();
        }

        public void EndEpisode(long episodeId) => inner.EndEpisode(episodeId);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task Shards_partition_the_tasks()
    {
        IReadOnlyList<RolloutWorkItem> all = Work(samples: 2);
        IReadOnlyList<RolloutWorkItem> first = Work(samples: 2, shard: RolloutShard.Parse("0/3"));
        IReadOnlyList<RolloutWorkItem> second = Work(samples: 2, shard: RolloutShard.Parse("1/3"));
        IReadOnlyList<RolloutWorkItem> third = Work(samples: 2, shard: RolloutShard.Parse("2/3"));

        Assert.Equal(80, all.Count);
        Assert.Equal(all.Select(w => w.Key).Order(), first.Concat(second).Concat(third).Select(w => w.Key).Order());
        Assert.All(second, w => Assert.Equal(1, w.Task.Index % 3));
        Assert.Throws<ArgumentException>(() => RolloutShard.Parse("3/3"));
        Assert.Throws<ArgumentException>(() => RolloutShard.Parse("1-3"));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_cancelled_run_keeps_finished_episodes_and_the_rerun_does_only_the_rest()
    {
        using var dir = new TempDirectory();
        string path = dir.File("trajectories.jsonl");
        using var cancel = new CancellationTokenSource();
        var interrupted = new ScriptedPolicy(CounterTurn) { BeforeCall = call => { if (call == 4) cancel.Cancel(); return Task.CompletedTask; } };

        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                new RolloutFarm(Suite, interrupted, new RolloutOptions { Concurrency = 8 }).RunAsync(Work(samples: 2), new TrajectoryFileSink(store), cancellationToken: cancel.Token));

        IReadOnlySet<string> finished = RolloutPlan.ReadFinishedKeys(path);
        Assert.InRange(finished.Count, 1, 79);
        IReadOnlyList<RolloutWorkItem> rest = RolloutPlan.Build(Suite.Tasks(EnvironmentSplits.Train), 2, RolloutShard.Whole, finished);
        Assert.Equal(80 - finished.Count, rest.Count);

        var resumed = new ScriptedPolicy(CounterTurn);
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
            await new RolloutFarm(Suite, resumed, new RolloutOptions { Concurrency = 8 }).RunAsync(rest, new TrajectoryFileSink(store));

        List<Trajectory> all = TrajectoryStore.ReadAll(path, strict: true).Records.ToList();
        Assert.Equal(80, all.Count);
        Assert.Equal(80, all.Select(RolloutPlan.KeyOf).Distinct().Count());
        Assert.All(all, t => Assert.True(t.Success));
    }

    [Fact]
    public async Task A_broken_environment_session_costs_its_episode_only_until_the_error_limit()
    {
        var suite = new FlakySuite(Suite, failingIndex: 7);
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(suite, new ScriptedPolicy(CounterTurn)).RunAsync(Work(), sink);

        Assert.Equal(39, summary.Episodes);
        Assert.Equal(1, summary.Errors);
        Assert.Contains("counter_7", summary.FirstError);
        Assert.DoesNotContain(sink.Trajectories, t => t.TaskId == "counter_7");

        var strict = new RolloutFarm(suite, new ScriptedPolicy(CounterTurn), new RolloutOptions { MaxEpisodeErrors = 0 });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => strict.RunAsync(Work(), new InMemoryRolloutSink()));
        Assert.Contains("counter_7", ex.Message);
    }

    /// <summary>The counter's optimal turn, read from the observation.</summary>
    internal static string CounterTurn(PolicyRequest request)
    {
        string last = request.Conversation.Last(m => m.Role == ChatRole.User && m.Content.Contains("value ")).Content;
        int value = int.Parse(last[(last.IndexOf("value ", StringComparison.Ordinal) + 6)..last.IndexOf(',')]);
        return value < CounterEnvironmentSuite.Target(request.Task.Index) ? "Thought: up\nAction: inc" : "Thought: there\nAction: submit";
    }

    /// <summary>The counter suite, except that stepping task <c>failingIndex</c> throws (a broken remote environment).</summary>
    private sealed class FlakySuite(CounterEnvironmentSuite inner, int failingIndex) : DelegatingEnvironmentSuite(inner)
    {
        public override IEnvironmentSession CreateSession() => new FlakySession(Inner.CreateSession(), failingIndex);
    }

    private sealed class FlakySession(IEnvironmentSession inner, int failingIndex) : DelegatingEnvironmentSession(inner)
    {
        public override ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default) =>
            Task?.Index == failingIndex ? throw new IOException("connection reset by peer") : base.StepAsync(action, cancellationToken);
    }
}
