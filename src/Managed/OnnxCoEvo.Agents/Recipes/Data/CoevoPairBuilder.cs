using System.Text.Json;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

// The recipes' data logic (papers.md §4-§6, §8): pure functions over trajectories, no I/O, one file per builder.
// The run engine calls them between rollouts and training.

/// <summary>Co-evolving agents knobs; unknowns of the paper are these.</summary>
public sealed record CoevoOptions
{
    /// <summary>Near-success failures have reward in [this, 1) (the paper's 0.6 analysis threshold).</summary>
    public double NearSuccessFloor { get; init; } = EvaluationReport.NearSuccessFloor;

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
/// Co-evolving agents' preference data (papers.md §6, §8.7): the failure agent learns from failure-vs-failure pairs
/// only (target failures x failure-agent failures, higher reward chosen, never a success); the target learns from
/// expert-vs-target-failure, expert-vs-failure-agent-failure and failure-vs-failure pairs.
/// <para>Choices where the paper is silent: a failure is reward &lt; 1 (successes are filtered out of both lists before
/// any pairing, so no pair ever holds one); equal rewards give no pair; each pair type is capped at
/// <see cref="CoevoOptions.MaxPairsPerTask"/> per task, the same cap for every type (the paper's mixing ratio is
/// unknown; equal caps keep the types balanced per task). Failure-vs-failure candidates are taken largest reward gap
/// first (the clearest preference), then in input order (target rollout, then failure-agent rollout). Expert pairs
/// take the highest-reward failures first: near-success failures are the hard negatives the method exists to supply.
/// Only experts meeting the success rule are used as chosen: an expert failure preferred over an agent failure
/// would teach a failure as the goal, and failure orderings are the failure-vs-failure pairs' job; two experts of
/// one task are an error. Ids are "coevo:&lt;type&gt;:&lt;task_id&gt;#k", k counting the task's pairs of that type from 0;
/// metadata "pair_type" holds the type; the sides are built by <see cref="TrajectoryPairs"/> (ETO truncation).</para>
/// </summary>
public static class CoevoPairBuilder
{
    public const string Source = "coevo";

    /// <summary>Metadata key of the pair type.</summary>
    public const string PairTypeKey = "pair_type";

    /// <summary>Pair types (and id parts).</summary>
    public const string FailureAgentType = "failure-agent";
    public const string ExpertVsTargetType = "expert-vs-target";
    public const string ExpertVsFailureAgentType = "expert-vs-failure-agent";
    public const string FailureVsFailureType = "failure-vs-failure";

    public static IReadOnlyList<PreferencePair> FailureAgentPairs(IReadOnlyList<Trajectory> targetRollouts, IReadOnlyList<Trajectory> failureAgentRollouts, CoevoOptions? options = null)
    {
        options = Check(options);
        return FailurePairs(FailureAgentType, Failures(targetRollouts, nameof(targetRollouts)), Failures(failureAgentRollouts, nameof(failureAgentRollouts)), options);
    }

    public static CoevoTargetPairs TargetPairs(IReadOnlyList<Trajectory> experts, IReadOnlyList<Trajectory> targetRollouts, IReadOnlyList<Trajectory> failureAgentRollouts, CoevoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(experts);
        options = Check(options);
        var successfulExpert = new Dictionary<string, Trajectory>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (Trajectory expert in experts)
        {
            TrajectoryPairs.CheckReward(expert, nameof(experts));
            if (!seen.Add(expert.TaskId))
                throw new ArgumentException($"two expert trajectories for task '{expert.TaskId}'", nameof(experts));
            if (expert.MeetsSuccessRule)
                successfulExpert[expert.TaskId] = expert;
        }
        OrderedDictionary<string, List<Trajectory>> targetFailures = Failures(targetRollouts, nameof(targetRollouts));
        OrderedDictionary<string, List<Trajectory>> agentFailures = Failures(failureAgentRollouts, nameof(failureAgentRollouts));
        return new CoevoTargetPairs(
            ExpertPairs(ExpertVsTargetType, successfulExpert, targetFailures, options),
            ExpertPairs(ExpertVsFailureAgentType, successfulExpert, agentFailures, options),
            FailurePairs(FailureVsFailureType, targetFailures, agentFailures, options));
    }

    /// <summary>Share of rollouts that are near-success failures.</summary>
    public static double NearSuccessShare(IReadOnlyList<Trajectory> rollouts, double floor = EvaluationReport.NearSuccessFloor) =>
        rollouts.Count == 0 ? 0 : rollouts.Count(t => EvaluationReport.IsNearSuccess(t, floor)) / (double)rollouts.Count;

    private static CoevoOptions Check(CoevoOptions? options)
    {
        options ??= new CoevoOptions();
        if (options.MaxPairsPerTask < 0)
            throw new ArgumentException($"MaxPairsPerTask must be >= 0, is {options.MaxPairsPerTask}", nameof(options));
        if (options.RejectedExtraTurns < 0)
            throw new ArgumentException($"RejectedExtraTurns must be >= 0, is {options.RejectedExtraTurns}", nameof(options));
        return options;
    }

    /// <summary>The failures (reward &lt; 1) per task, tasks and trajectories in input order.</summary>
    private static OrderedDictionary<string, List<Trajectory>> Failures(IReadOnlyList<Trajectory> rollouts, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(rollouts, parameterName);
        var byTask = new OrderedDictionary<string, List<Trajectory>>(StringComparer.Ordinal);
        foreach (Trajectory rollout in rollouts)
        {
            TrajectoryPairs.CheckReward(rollout, parameterName);
            if (rollout.Reward >= Trajectory.SuccessReward)
                continue;
            if (!byTask.TryGetValue(rollout.TaskId, out List<Trajectory>? list))
                byTask[rollout.TaskId] = list = [];
            list.Add(rollout);
        }
        return byTask;
    }

    /// <summary>Per task: target failure x failure-agent failure, higher reward chosen, largest gap first.</summary>
    private static List<PreferencePair> FailurePairs(string type, OrderedDictionary<string, List<Trajectory>> targetFailures,
        OrderedDictionary<string, List<Trajectory>> agentFailures, CoevoOptions options)
    {
        var pairs = new List<PreferencePair>();
        foreach ((string task, List<Trajectory> targets) in targetFailures)
        {
            if (!agentFailures.TryGetValue(task, out List<Trajectory>? agents))
                continue;
            var candidates = new List<(Trajectory Chosen, Trajectory Rejected)>();
            foreach (Trajectory target in targets)
                foreach (Trajectory agent in agents)
                    if (target.Reward != agent.Reward)
                        candidates.Add(target.Reward > agent.Reward ? (target, agent) : (agent, target));
            AddCapped(pairs, type, task, candidates.OrderByDescending(c => c.Chosen.Reward - c.Rejected.Reward), options);
        }
        return pairs;
    }

    /// <summary>Per task with a successful expert: expert chosen over each failure, highest-reward failures first.</summary>
    private static List<PreferencePair> ExpertPairs(string type, Dictionary<string, Trajectory> experts,
        OrderedDictionary<string, List<Trajectory>> failures, CoevoOptions options)
    {
        var pairs = new List<PreferencePair>();
        foreach ((string task, List<Trajectory> rejected) in failures)
            if (experts.TryGetValue(task, out Trajectory? expert))
                AddCapped(pairs, type, task, rejected.OrderByDescending(r => r.Reward).Select(r => (expert, r)), options);
        return pairs;
    }

    /// <summary>Builds candidates in order until the task has the cap's worth of pairs (a side without actions is skipped).</summary>
    private static void AddCapped(List<PreferencePair> pairs, string type, string task, IEnumerable<(Trajectory Chosen, Trajectory Rejected)> candidates, CoevoOptions options)
    {
        int built = 0;
        var metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { [PairTypeKey] = TrajectoryMetadata.Value(type) };
        foreach ((Trajectory chosen, Trajectory rejected) in candidates)
        {
            if (built >= options.MaxPairsPerTask)
                break;
            PreferencePair? pair = TrajectoryPairs.TryBuild($"{Source}:{type}:{task}#{built}", Source, chosen, rejected, options.RejectedExtraTurns, metadata);
            if (pair is null)
                continue;
            pairs.Add(pair);
            built++;
        }
    }
}
