using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

// The data logic of the recipes (papers.md §4-§6, §8): pure functions over trajectories, no I/O. The run engine calls
// them between rollouts and training. Implemented in this folder (issue 6); signatures are the contract.

/// <summary>ETO pairing knobs. A "turn" is one assistant action with its observation.</summary>
public sealed record EtoPairingOptions
{
    /// <summary>The rejected side keeps at most the expert's turns plus this many (ETO: len(gold) + 10 messages = 5 turns).</summary>
    public int RejectedExtraTurns { get; init; } = 5;
}

/// <summary>ETO's pairs for one exploration round, with the counts the run logs.</summary>
public sealed record EtoPairingResult(IReadOnlyList<PreferencePair> Pairs, int AgentWins, int ExpertWins, int Ties, int MissingExpert);

/// <summary>
/// ETO (construct_preference.py): per task, the agent's explored trajectory against the expert's, compared by the
/// expert's OWN reward (the agent may win, then it is chosen); ties dropped; the rejected side truncated to the expert's
/// length + <see cref="EtoPairingOptions.RejectedExtraTurns"/> turns; prompt = instruction + "OK" + first observation;
/// both continuations end on an assistant turn.
/// </summary>
public static class EtoPairBuilder
{
    public static EtoPairingResult Build(IReadOnlyList<Trajectory> experts, IReadOnlyList<Trajectory> explored, EtoPairingOptions? options = null) =>
        throw new NotImplementedException("issue 6: ETO pairing");
}

/// <summary>A state of a failed expert trajectory to simulate the student from: after <see cref="ReplaySteps"/> expert steps.</summary>
public sealed record EefProbe(Trajectory Expert, int ReplaySteps);

/// <summary>EEF probe positions: l = floor(T / (M + 1)); probes at l, 2l, ..., Ml (s0 comes from the plain exploration).</summary>
public static class EefProbePlanner
{
    public static IReadOnlyList<EefProbe> Plan(Trajectory failedExpert, int probes) =>
        throw new NotImplementedException("issue 6: EEF probe planning");
}

/// <summary>How an expert segment a_from..a_(to-1) between two consecutive probe states was judged.</summary>
public enum EefSegmentLabel
{
    /// <summary>Fail before, fail after; or success before and after: no evidence.</summary>
    Unlabelled,

    /// <summary>The student fails from the state before the segment and succeeds from the state after it.</summary>
    Beneficial,

    /// <summary>The student succeeds from the state before and fails from the state after (the later state needs recovery).</summary>
    Harmful,
}

public sealed record EefSegment(int FromStep, int ToStep, EefSegmentLabel Label);

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

/// <summary>One iteration's EEF data and the counts the run logs.</summary>
public sealed record EefIterationResult(
    IReadOnlyList<Trajectory> Samples,
    IReadOnlyList<EefSegment> Segments,
    int FailedExperts,
    int Probes,
    int ProbeSuccesses,
    int Beneficial,
    int Harmful,
    int NewPositives,
    int RecoverySamples);

/// <summary>
/// EEF's labels and samples from the student's rollouts at the probe states (rollouts carry metadata
/// "replayed_steps"; 0 = from s0). A sample = expert prefix up to a probe state the student solved + the student's
/// successful continuation; loss flags on beneficial expert actions and the student's own actions, every other expert
/// action in context with loss false.
/// </summary>
public static class EefSampleBuilder
{
    public static EefIterationResult Build(IReadOnlyList<Trajectory> failedExperts, IReadOnlyList<Trajectory> probeRollouts, EefOptions? options = null) =>
        throw new NotImplementedException("issue 6: EEF samples");
}

/// <summary>RFT: the successful rollouts (reward == 1), at most <c>maxPerTask</c> distinct ones per task.</summary>
public static class RftPositives
{
    public static IReadOnlyList<Trajectory> Select(IEnumerable<Trajectory> rollouts, int maxPerTask = int.MaxValue) =>
        throw new NotImplementedException("issue 6: RFT positives");
}

/// <summary>Co-evolving agents knobs; unknowns of the paper are these.</summary>
public sealed record CoevoOptions
{
    /// <summary>Near-success failures have reward in [this, 1) (the paper's 0.6 analysis threshold).</summary>
    public double NearSuccessFloor { get; init; } = 0.6;

    /// <summary>Rejected sides are truncated as in ETO.</summary>
    public int RejectedExtraTurns { get; init; } = 5;

    /// <summary>Pairs per task and pair type at most (the paper does not say how the types are balanced).</summary>
    public int MaxPairsPerTask { get; init; } = 2;
}

/// <summary>The target agent's three pair types.</summary>
public sealed record CoevoTargetPairs(IReadOnlyList<PreferencePair> ExpertVsTarget, IReadOnlyList<PreferencePair> ExpertVsFailureAgent, IReadOnlyList<PreferencePair> FailureVsFailure)
{
    public IReadOnlyList<PreferencePair> All => [.. ExpertVsTarget, .. ExpertVsFailureAgent, .. FailureVsFailure];
}

/// <summary>
/// Co-evolving agents' preference data: the failure agent learns from failure-vs-failure pairs only (target failures
/// x failure-agent failures, higher reward chosen, never a success); the target learns from expert-vs-target-failure,
/// expert-vs-failure-agent-failure and failure-vs-failure pairs.
/// </summary>
public static class CoevoPairBuilder
{
    public static IReadOnlyList<PreferencePair> FailureAgentPairs(IReadOnlyList<Trajectory> targetRollouts, IReadOnlyList<Trajectory> failureAgentRollouts, CoevoOptions? options = null) =>
        throw new NotImplementedException("issue 6: failure-agent pairs");

    public static CoevoTargetPairs TargetPairs(IReadOnlyList<Trajectory> experts, IReadOnlyList<Trajectory> targetRollouts, IReadOnlyList<Trajectory> failureAgentRollouts, CoevoOptions? options = null) =>
        throw new NotImplementedException("issue 6: target pairs");

    /// <summary>Share of rollouts that are near-success failures.</summary>
    public static double NearSuccessShare(IReadOnlyList<Trajectory> rollouts, double floor = 0.6) =>
        rollouts.Count == 0 ? 0 : rollouts.Count(t => !t.MeetsSuccessRule && t.Reward >= floor) / (double)rollouts.Count;
}
