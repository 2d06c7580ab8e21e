using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

// The data logic of the recipes (papers.md §4-§6, §8): pure functions over trajectories, no I/O. The run engine calls
// them between rollouts and training. Implemented in this folder (issue 6); signatures are the contract.

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
