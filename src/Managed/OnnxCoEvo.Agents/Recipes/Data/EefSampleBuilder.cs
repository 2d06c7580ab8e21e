using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>How an expert segment a_from..a_(to-1) between two consecutive probe states was judged.</summary>
public enum EefSegmentLabel
{
    /// <summary>Fail before, fail after; or success before and after; or a state without rollouts: no evidence.</summary>
    Unlabelled,

    /// <summary>The student fails from the state before the segment and succeeds from the state after it.</summary>
    Beneficial,

    /// <summary>The student succeeds from the state before and fails from the state after (the later state needs recovery).</summary>
    Harmful,
}

/// <summary>Expert actions a_<see cref="FromStep"/>..a_(<see cref="ToStep"/>-1), i.e. from state s_from to state s_to.</summary>
public sealed record EefSegment(int FromStep, int ToStep, EefSegmentLabel Label)
{
    /// <summary>The task of the expert trajectory the segment belongs to ("" when built by hand).</summary>
    public string TaskId { get; init; } = "";

    /// <summary>True when expert action a_<paramref name="step"/> lies in this segment.</summary>
    public bool Contains(int step) => FromStep <= step && step < ToStep;
}

/// <summary>EEF knobs; every unknown of the paper is one of these (papers.md §8.10).</summary>
public sealed record EefOptions
{
    /// <summary>M, probe states per failed expert trajectory (EEF default 5).</summary>
    public int Probes { get; init; } = 5;

    /// <summary>Add samples whose prefix holds a harmful segment (masked) followed by a successful continuation (trained).</summary>
    public bool RecoverySamples { get; init; } = true;

    /// <summary>Only build samples for tasks the student cannot solve from s0 (EEF's important subtasks).</summary>
    public bool OnlyUnsolvedTasks { get; init; } = true;
}

/// <summary>
/// What the probes of one failed expert trajectory showed: the probed states (0 first), whether the student solved
/// each (null: no rollout from it), the segments between consecutive states, and the samples built from them.
/// </summary>
public sealed record EefExpertResult(
    Trajectory Expert,
    IReadOnlyList<int> States,
    IReadOnlyList<bool?> Solved,
    IReadOnlyList<EefSegment> Segments,
    IReadOnlyList<Trajectory> Samples);

/// <summary>One iteration's EEF data and the counts the run logs.</summary>
/// <param name="Samples">SFT samples with per-turn loss flags, expert by expert in input order, states in increasing order.</param>
/// <param name="Segments">Every expert's segments between consecutive probed states (see <see cref="EefSegment.TaskId"/>).</param>
/// <param name="FailedExperts">Expert trajectories probed (those meeting the success rule are skipped).</param>
/// <param name="Probes">Probe states planned, s0 not included.</param>
/// <param name="ProbeSuccesses">Probe states (k &gt; 0) with at least one successful rollout, used for a sample or not.</param>
/// <param name="Beneficial">Segments labelled beneficial.</param>
/// <param name="Harmful">Segments labelled harmful.</param>
/// <param name="NewPositives">Tasks with at least one sample this iteration.</param>
/// <param name="RecoverySamples">Samples whose prefix holds a harmful segment (metadata "eef": "recovery").</param>
public sealed record EefIterationResult(
    IReadOnlyList<Trajectory> Samples,
    IReadOnlyList<EefSegment> Segments,
    int FailedExperts,
    int Probes,
    int ProbeSuccesses,
    int Beneficial,
    int Harmful,
    int NewPositives,
    int RecoverySamples)
{
    /// <summary>Per failed expert trajectory, in input order.</summary>
    public IReadOnlyList<EefExpertResult> Experts { get; init; } = [];
}

/// <summary>
/// EEF's labels and samples from the student's rollouts at the probe states (papers.md §5 steps 8-12). Rollouts carry
/// metadata "replayed_steps" (missing = 0 = from s0); a rollout restored at k has the expert's first 3 + 2k turns as
/// its prefix, then the student's turns.
/// <para>Labels, over the probe sequence s0, s_l, ..., s_Ml of each failed expert: a state counts as solved when any
/// rollout from it has reward == 1 (EEF runs one rollout per state; with several, one success shows the state is
/// solvable by the student, which is what the label asks); fail -> success marks the segment between the two states
/// Beneficial, success -> fail Harmful, anything else (including a state nobody rolled out from) Unlabelled. The
/// stretch after s_Ml is never labelled: nobody rolls out from the expert's final state.</para>
/// <para>Samples: for every probe state s_k (k &gt; 0) the student solved, the first successful rollout from it (input
/// order): its turns with loss true on expert actions inside Beneficial segments that end at or before k, loss false on
/// every other expert action (harmful, unlabelled, and beneficial ones after k, which the sample's context never
/// reaches anyway), loss false on the "OK" reply, loss true on the student's own actions. A sample whose prefix holds a
/// Harmful segment (ending at or before k) is a recovery sample (metadata "eef": "recovery"); it is built only when
/// <see cref="EefOptions.RecoverySamples"/>, and also for tasks the student solves from s0, because the state after the
/// harmful segment is one the student cannot solve (the paper's step 12 is separate from the step-10 task
/// selection). Other samples ("eef": "probe") are built only for tasks not solved from s0 when
/// <see cref="EefOptions.OnlyUnsolvedTasks"/> (a task with no s0 rollout counts as unsolved: nothing shows otherwise).
/// Successes from s0 itself are RFT positives (<see cref="RftPositives"/>), not EEF samples.</para>
/// <para>Several failed experts of one task share the s0 rollouts; a probe rollout belongs to every expert whose prefix
/// it carries at a planned probe, and becomes at most one sample (the first such expert's labels). A probe rollout
/// that matches no planned probe (another M, another expert) is an error: it would silently label nothing.
/// Experts meeting the success rule are skipped (they are SFT positives, not failures).</para>
/// </summary>
public static class EefSampleBuilder
{
    public const string Source = "eef";

    /// <summary>Metadata key: the probe state k the sample continues from.</summary>
    public const string ProbeKey = "eef_probe";

    /// <summary>Metadata key: "probe" for a sample from a state reached without harmful actions, "recovery" otherwise.</summary>
    public const string KindKey = "eef";

    public const string ProbeKind = "probe";
    public const string RecoveryKind = "recovery";

    public static EefIterationResult Build(IReadOnlyList<Trajectory> failedExperts, IReadOnlyList<Trajectory> probeRollouts, EefOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(failedExperts);
        ArgumentNullException.ThrowIfNull(probeRollouts);
        options ??= new EefOptions();
        if (options.Probes < 0)
            throw new ArgumentException($"Probes must be >= 0, is {options.Probes}", nameof(options));

        var experts = new List<ProbedExpert>();
        var expertsByTask = new Dictionary<string, List<ProbedExpert>>(StringComparer.Ordinal);
        foreach (Trajectory expert in failedExperts)
        {
            if (expert.MeetsSuccessRule)
                continue;
            TrajectoryPairs.CheckForm(expert, nameof(failedExperts));
            var probed = new ProbedExpert(expert, [0, .. EefProbePlanner.Positions(EpisodeReplay.CountSteps(expert), options.Probes)]);
            experts.Add(probed);
            if (!expertsByTask.TryGetValue(expert.TaskId, out List<ProbedExpert>? ofTask))
                expertsByTask[expert.TaskId] = ofTask = [];
            ofTask.Add(probed);
        }

        var fromStart = new Dictionary<string, List<Trajectory>>(StringComparer.Ordinal);
        foreach (Trajectory rollout in probeRollouts)
        {
            if (!expertsByTask.TryGetValue(rollout.TaskId, out List<ProbedExpert>? ofTask))
            {
                if (ReplayedSteps(rollout) > 0)
                    throw new ArgumentException($"probe rollout of task '{rollout.TaskId}' (replayed_steps {ReplayedSteps(rollout)}): no failed expert trajectory of that task", nameof(probeRollouts));
                continue; // plain exploration of a task without failed experts: not EEF's business
            }
            int k = ReplayedSteps(rollout);
            if (k == 0)
            {
                if (!fromStart.TryGetValue(rollout.TaskId, out List<Trajectory>? list))
                    fromStart[rollout.TaskId] = list = [];
                list.Add(rollout);
                continue;
            }
            bool matched = false;
            foreach (ProbedExpert expert in ofTask)
                if (expert.States.Contains(k) && TrajectoryPairs.SamePrefix(rollout.Turns, expert.Expert.Turns, TrajectoryPairs.PromptTurns + 2 * k))
                {
                    expert.RolloutsAt(k).Add(rollout);
                    matched = true;
                }
            if (!matched)
                throw new ArgumentException(
                    $"probe rollout of task '{rollout.TaskId}' (replayed_steps {k}) does not continue any failed expert trajectory of that task at a planned probe (M = {options.Probes})",
                    nameof(probeRollouts));
        }

        var samples = new List<Trajectory>();
        var segments = new List<EefSegment>();
        var perExpert = new List<EefExpertResult>();
        var usedRollouts = new HashSet<Trajectory>(ReferenceEqualityComparer.Instance);
        int probes = 0, probeSuccesses = 0, recoverySamples = 0;
        foreach (ProbedExpert expert in experts)
        {
            string task = expert.Expert.TaskId;
            var solved = new bool?[expert.States.Count];
            for (int i = 0; i < solved.Length; i++)
            {
                List<Trajectory>? rollouts = i == 0 ? fromStart.GetValueOrDefault(task) : expert.RolloutsAt(expert.States[i]);
                solved[i] = rollouts is null || rollouts.Count == 0 ? null : rollouts.Exists(r => r.MeetsSuccessRule);
            }
            EefSegment[] expertSegments = Label(task, expert.States, solved);
            segments.AddRange(expertSegments);
            probes += expert.States.Count - 1;

            var expertSamples = new List<Trajectory>();
            for (int i = 1; i < expert.States.Count; i++)
            {
                if (solved[i] != true)
                    continue;
                probeSuccesses++;
                int k = expert.States[i];
                bool recovery = Array.Exists(expertSegments, s => s.Label == EefSegmentLabel.Harmful && s.ToStep <= k);
                if (recovery ? !options.RecoverySamples : options.OnlyUnsolvedTasks && solved[0] == true)
                    continue;
                Trajectory? success = expert.RolloutsAt(k).Find(r => r.MeetsSuccessRule && !usedRollouts.Contains(r));
                if (success is null)
                    continue;
                usedRollouts.Add(success);
                expertSamples.Add(Sample(success, k, expertSegments, recovery));
                if (recovery)
                    recoverySamples++;
            }
            samples.AddRange(expertSamples);
            perExpert.Add(new EefExpertResult(expert.Expert, expert.States, solved, expertSegments, expertSamples));
        }

        return new EefIterationResult(
            samples,
            segments,
            FailedExperts: experts.Count,
            Probes: probes,
            ProbeSuccesses: probeSuccesses,
            Beneficial: segments.Count(s => s.Label == EefSegmentLabel.Beneficial),
            Harmful: segments.Count(s => s.Label == EefSegmentLabel.Harmful),
            NewPositives: samples.Select(s => s.TaskId).Distinct(StringComparer.Ordinal).Count(),
            RecoverySamples: recoverySamples)
        { Experts = perExpert };
    }

    /// <summary>Segments between consecutive probed states from whether the student solved each (null = no rollouts).</summary>
    public static EefSegment[] Label(string taskId, IReadOnlyList<int> states, IReadOnlyList<bool?> solved)
    {
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(solved);
        if (states.Count != solved.Count)
            throw new ArgumentException($"{states.Count} states but {solved.Count} outcomes", nameof(solved));
        var segments = new EefSegment[Math.Max(0, states.Count - 1)];
        for (int i = 1; i < states.Count; i++)
        {
            if (states[i] <= states[i - 1])
                throw new ArgumentException($"probe states must increase, {states[i]} follows {states[i - 1]}", nameof(states));
            EefSegmentLabel label = (solved[i - 1], solved[i]) switch
            {
                (false, true) => EefSegmentLabel.Beneficial,
                (true, false) => EefSegmentLabel.Harmful,
                _ => EefSegmentLabel.Unlabelled,
            };
            segments[i - 1] = new EefSegment(states[i - 1], states[i], label) { TaskId = taskId };
        }
        return segments;
    }

    /// <summary>
    /// The rollout from probe state <paramref name="k"/> with EEF's loss flags (see the class summary); metadata gains
    /// "source" = "eef", "eef_probe" = k and "eef" = probe|recovery.
    /// </summary>
    public static Trajectory Sample(Trajectory rollout, int k, IReadOnlyList<EefSegment> segments, bool recovery)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(segments);
        TrajectoryPairs.CheckForm(rollout, nameof(rollout));
        int prefixEnd = TrajectoryPairs.PromptTurns + 2 * k;
        if (k < 0 || prefixEnd > rollout.Turns.Count)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"rollout of task '{rollout.TaskId}' has {rollout.Turns.Count} turns");
        var turns = new ChatMessage[rollout.Turns.Count];
        for (int i = 0; i < turns.Length; i++)
        {
            ChatMessage turn = rollout.Turns[i];
            bool? loss = turn.Role != ChatRole.Assistant ? turn.Loss
                : i < TrajectoryPairs.PromptTurns ? false
                : i >= prefixEnd || IsTrainedExpertAction((i - TrajectoryPairs.PromptTurns) / 2, k, segments);
            turns[i] = turn.Loss == loss ? turn : turn with { Loss = loss };
        }
        var metadata = new Dictionary<string, JsonElement>(rollout.Metadata, StringComparer.Ordinal)
        {
            [TrajectoryMetadata.SourceKey] = TrajectoryMetadata.Value(Source),
            [ProbeKey] = TrajectoryMetadata.Value(k),
            [KindKey] = TrajectoryMetadata.Value(recovery ? RecoveryKind : ProbeKind),
        };
        return rollout with { Turns = turns, Metadata = metadata };
    }

    private static bool IsTrainedExpertAction(int step, int k, IReadOnlyList<EefSegment> segments)
    {
        foreach (EefSegment segment in segments)
            if (segment.Label == EefSegmentLabel.Beneficial && segment.ToStep <= k && segment.Contains(step))
                return true;
        return false;
    }

    /// <summary>The rollout's "replayed_steps" metadata; 0 when absent (a plain rollout from s0).</summary>
    public static int ReplayedSteps(Trajectory rollout)
    {
        if (!rollout.Metadata.TryGetValue(Episode.ReplayedStepsKey, out JsonElement value))
            return 0;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int k) || k < 0)
            throw new ArgumentException($"rollout of task '{rollout.TaskId}': metadata {Episode.ReplayedStepsKey} must be a non-negative integer, is {value.GetRawText()}", nameof(rollout));
        return k;
    }

    /// <summary>A failed expert with its probe states (0 first) and the rollouts from each state k &gt; 0.</summary>
    private sealed class ProbedExpert(Trajectory expert, IReadOnlyList<int> states)
    {
        private readonly Dictionary<int, List<Trajectory>> _rollouts = [];

        public Trajectory Expert { get; } = expert;
        public IReadOnlyList<int> States { get; } = states;

        public List<Trajectory> RolloutsAt(int k)
        {
            if (!_rollouts.TryGetValue(k, out List<Trajectory>? list))
                _rollouts[k] = list = [];
            return list;
        }
    }
}
