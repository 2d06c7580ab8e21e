using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class EefTests
{
    [Theory]
    [InlineData(12, 5, new[] { 2, 4, 6, 8, 10 })]
    [InlineData(20, 5, new[] { 3, 6, 9, 12, 15 })]
    [InlineData(6, 5, new[] { 1, 2, 3, 4, 5 })]
    [InlineData(5, 5, new int[0])] // l = floor(5 / 6) = 0
    [InlineData(10, 1, new[] { 5 })]
    [InlineData(7, 2, new[] { 2, 4 })]
    [InlineData(0, 5, new int[0])]
    [InlineData(12, 0, new int[0])]
    public void Probe_positions_are_multiples_of_floor_T_over_M_plus_one(int steps, int probes, int[] expected)
    {
        Assert.Equal(expected, EefProbePlanner.Positions(steps, probes));
    }

    [Fact]
    public void Plan_counts_the_replayable_steps_of_the_recording()
    {
        Trajectory expert = Build("t1", actions: 12, reward: 0);
        Assert.Equal([2, 4, 6, 8, 10], EefProbePlanner.Plan(expert, 5).Select(p => p.ReplaySteps));
        Assert.All(EefProbePlanner.Plan(expert, 5), p => Assert.Same(expert, p.Expert));
        // A last action without its observation is not a replayable step: T = 11, l = 1.
        Assert.Equal([1, 2, 3, 4, 5], EefProbePlanner.Plan(Build("t1", 12, 0, endOnObservation: false), 5).Select(p => p.ReplaySteps));
    }

    [Fact]
    public void Labels_follow_the_outcomes_of_consecutive_probe_states()
    {
        EefSegment[] segments = EefSampleBuilder.Label("t1", [0, 2, 4, 6, 8], [false, false, true, true, false]);
        Assert.Equal(
            [(0, 2, EefSegmentLabel.Unlabelled), (2, 4, EefSegmentLabel.Beneficial), (4, 6, EefSegmentLabel.Unlabelled), (6, 8, EefSegmentLabel.Harmful)],
            segments.Select(s => (s.FromStep, s.ToStep, s.Label)));
        Assert.All(segments, s => Assert.Equal("t1", s.TaskId));
        // A state nobody rolled out from gives no evidence either way.
        Assert.Equal([EefSegmentLabel.Unlabelled, EefSegmentLabel.Unlabelled], EefSampleBuilder.Label("t1", [0, 2, 4], [false, null, true]).Select(s => s.Label));
    }

    /// <summary>T = 12, M = 5: states 0 2 4 6 8 10 with outcomes F F S S F S.</summary>
    private static (Trajectory Expert, List<Trajectory> Rollouts) FailFailSuccessSuccessFailSuccess()
    {
        Trajectory expert = Build("t1", actions: 12, reward: 0.25);
        bool[] outcomes = [false, false, true, true, false, true];
        var rollouts = outcomes.Select((success, i) => Rollout(expert, 2 * i, studentActions: 2, reward: success ? 1.0 : 0.5)).ToList();
        return (expert, rollouts);
    }

    private static (string Action, bool? Loss)[] AssistantFlags(Trajectory sample) =>
        sample.Turns.Where(t => t.Role == ChatRole.Assistant).Select(t => (t.Content, t.Loss)).ToArray();

    [Fact]
    public void Samples_train_beneficial_expert_actions_and_the_students_own_turns_only()
    {
        (Trajectory expert, List<Trajectory> rollouts) = FailFailSuccessSuccessFailSuccess();

        EefIterationResult result = EefSampleBuilder.Build([expert], rollouts);

        Assert.Equal((1, 5, 3, 2, 1, 1, 1), (result.FailedExperts, result.Probes, result.ProbeSuccesses, result.Beneficial, result.Harmful, result.NewPositives, result.RecoverySamples));
        Assert.Equal([4, 6, 10], result.Samples.Select(s => s.Metadata[EefSampleBuilder.ProbeKey].GetInt32()));
        Assert.All(result.Samples, s => Assert.Equal("eef", s.Metadata.GetString(TrajectoryMetadata.SourceKey)));

        Trajectory atFour = result.Samples[0];
        Assert.Equal(rollouts[2].Turns.Select(t => t.Content), atFour.Turns.Select(t => t.Content));
        Assert.Equal("probe", atFour.Metadata.GetString(EefSampleBuilder.KindKey));
        Assert.Equal([("OK", false), ("a0", false), ("a1", false), ("a2", true), ("a3", true), ("b0", true), ("b1", true)], AssistantFlags(atFour));

        Trajectory atSix = result.Samples[1]; // a4, a5 lie in an unlabelled segment: context only
        Assert.Equal([("OK", false), ("a0", false), ("a1", false), ("a2", true), ("a3", true), ("a4", false), ("a5", false), ("b0", true), ("b1", true)], AssistantFlags(atSix));

        Trajectory atTen = result.Samples[2]; // recovery: a6, a7 harmful (masked), a8, a9 beneficial
        Assert.Equal("recovery", atTen.Metadata.GetString(EefSampleBuilder.KindKey));
        Assert.Equal(
            [("OK", false), ("a0", false), ("a1", false), ("a2", true), ("a3", true), ("a4", false), ("a5", false), ("a6", false), ("a7", false), ("a8", true), ("a9", true), ("b0", true), ("b1", true)],
            AssistantFlags(atTen));
        Assert.All(atTen.Turns.Where(t => t.Role == ChatRole.User), t => Assert.Null(t.Loss));

        EefExpertResult perExpert = Assert.Single(result.Experts);
        Assert.Equal([0, 2, 4, 6, 8, 10], perExpert.States);
        Assert.Equal([false, false, true, true, false, true], perExpert.Solved);
    }

    [Fact]
    public void Recovery_samples_can_be_switched_off()
    {
        (Trajectory expert, List<Trajectory> rollouts) = FailFailSuccessSuccessFailSuccess();
        EefIterationResult result = EefSampleBuilder.Build([expert], rollouts, new EefOptions { RecoverySamples = false });
        Assert.Equal([4, 6], result.Samples.Select(s => s.Metadata[EefSampleBuilder.ProbeKey].GetInt32()));
        Assert.Equal(0, result.RecoverySamples);
    }

    [Fact]
    public void Tasks_solved_from_s0_give_no_probe_samples_but_keep_recovery_samples()
    {
        // t2: S S S (T = 6, M = 2: states 0 2 4); t3: S F S, the harmful a0 a1 are followed by a recovery.
        Trajectory solved = Build("t2", 6, 0.0);
        Trajectory recovering = Build("t3", 6, 0.0);
        Trajectory[] rollouts =
        [
            Rollout(solved, 0, 2, 1.0), Rollout(solved, 2, 2, 1.0), Rollout(solved, 4, 2, 1.0),
            Rollout(recovering, 0, 2, 1.0), Rollout(recovering, 2, 2, 0.0), Rollout(recovering, 4, 2, 1.0),
        ];
        var options = new EefOptions { Probes = 2 };

        EefIterationResult important = EefSampleBuilder.Build([solved, recovering], rollouts, options);
        Trajectory recovery = Assert.Single(important.Samples);
        Assert.Equal("t3", recovery.TaskId);
        Assert.Equal([("OK", false), ("a0", false), ("a1", false), ("a2", true), ("a3", true), ("b0", true), ("b1", true)], AssistantFlags(recovery));
        Assert.Equal((1, 1, 1), (important.RecoverySamples, important.Harmful, important.NewPositives));

        EefIterationResult all = EefSampleBuilder.Build([solved, recovering], rollouts, options with { OnlyUnsolvedTasks = false });
        Assert.Equal(["t2", "t2", "t3"], all.Samples.Select(s => s.TaskId));
        Assert.Equal(2, all.NewPositives);
        Assert.All(all.Samples[0].Turns.Skip(3).Take(4).Where(t => t.Role == ChatRole.Assistant), t => Assert.False(t.Loss)); // unlabelled prefix
    }

    [Fact]
    public void A_state_counts_as_solved_when_any_of_its_rollouts_succeeded_and_the_first_success_is_the_sample()
    {
        Trajectory expert = Build("t1", 6, 0.0);
        Trajectory failed = Rollout(expert, 2, 3, 0.5, sample: 0);
        Trajectory won = Rollout(expert, 2, 1, 1.0, sample: 1);
        Trajectory alsoWon = Rollout(expert, 2, 2, 1.0, sample: 2);
        EefIterationResult result = EefSampleBuilder.Build([expert], [Rollout(expert, 0, 1, 0.0), failed, won, alsoWon], new EefOptions { Probes = 2 });
        Assert.Equal(EefSegmentLabel.Beneficial, result.Segments[0].Label);
        Assert.Equal(EefSegmentLabel.Unlabelled, result.Segments[1].Label); // no rollouts from s4
        Trajectory sample = Assert.Single(result.Samples);
        Assert.Equal(won.Turns.Count, sample.Turns.Count);
        Assert.Equal(1, sample.Metadata["sample"].GetInt32());
    }

    [Fact]
    public void Successful_experts_are_skipped_and_stray_probe_rollouts_are_errors()
    {
        Trajectory success = Build("t1", 6, 1.0);
        Assert.Equal(0, EefSampleBuilder.Build([success], [Rollout(success, 0, 1, 0.0)], new EefOptions { Probes = 2 }).FailedExperts);

        Trajectory expert = Build("t1", 6, 0.0);
        ArgumentException unplanned = Assert.Throws<ArgumentException>(() => EefSampleBuilder.Build([expert], [Rollout(expert, 3, 1, 1.0)], new EefOptions { Probes = 2 }));
        Assert.Contains("'t1'", unplanned.Message);
        Trajectory other = Build("t1", 6, 0.0, actionPrefix: "x");
        Assert.Throws<ArgumentException>(() => EefSampleBuilder.Build([expert], [Rollout(other, 2, 1, 1.0)], new EefOptions { Probes = 2 }));
        Assert.Throws<ArgumentException>(() => EefSampleBuilder.Build([], [Rollout(expert, 2, 1, 1.0)]));
    }

    [Fact]
    public void Two_experts_of_one_task_share_the_s0_rollouts_and_own_the_probes_on_their_prefix()
    {
        Trajectory gpt4 = Build("t1", 6, 0.0, policy: "gpt-4");
        Trajectory gpt35 = Build("t1", 6, 0.0, policy: "gpt-3.5", actionPrefix: "x");
        EefIterationResult result = EefSampleBuilder.Build([gpt4, gpt35], [Rollout(gpt4, 0, 1, 0.0), Rollout(gpt4, 2, 1, 0.0), Rollout(gpt35, 2, 1, 1.0)], new EefOptions { Probes = 2 });
        Assert.Equal([EefSegmentLabel.Unlabelled, EefSegmentLabel.Beneficial], result.Segments.Where(s => s.FromStep == 0).Select(s => s.Label));
        Assert.Equal(["x0", "x1"], Actions(Assert.Single(result.Samples).Turns).Skip(1).Take(2));
    }
}
