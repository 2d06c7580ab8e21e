using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>
/// RFT (papers.md §4.2 step b): the successful rollouts (reward == 1, never the stored success flag), at most
/// <c>maxPerTask</c> distinct ones per task. Two rollouts are the same when their turns have the same speakers and
/// texts (loss flags and metadata do not count). Order: input order; the first <c>maxPerTask</c> distinct successes of
/// a task are kept, so the result depends only on the input. The trajectories are returned unchanged.
/// </summary>
public static class RftPositives
{
    public static IReadOnlyList<Trajectory> Select(IEnumerable<Trajectory> rollouts, int maxPerTask = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(rollouts);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerTask, 1);
        var keptPerTask = new Dictionary<string, List<Trajectory>>(StringComparer.Ordinal);
        var selected = new List<Trajectory>();
        foreach (Trajectory rollout in rollouts)
        {
            if (!rollout.MeetsSuccessRule)
                continue;
            if (!keptPerTask.TryGetValue(rollout.TaskId, out List<Trajectory>? kept))
                keptPerTask[rollout.TaskId] = kept = [];
            if (kept.Count >= maxPerTask || kept.Exists(k => SameTurns(k, rollout)))
                continue;
            kept.Add(rollout);
            selected.Add(rollout);
        }
        return selected;
    }

    private static bool SameTurns(Trajectory a, Trajectory b) =>
        a.Turns.Count == b.Turns.Count && TrajectoryPairs.SamePrefix(a.Turns, b.Turns, a.Turns.Count);
}
