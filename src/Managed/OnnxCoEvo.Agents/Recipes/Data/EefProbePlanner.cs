using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>A state of a failed expert trajectory to simulate the student from: after <see cref="ReplaySteps"/> expert steps.</summary>
public sealed record EefProbe(Trajectory Expert, int ReplaySteps);

/// <summary>
/// EEF probe positions (papers.md §5 step 6): T = the recording's replayable steps (<see cref="EpisodeReplay.CountSteps"/>),
/// l = floor(T / (M + 1)); probes at l, 2l, ..., Ml, keeping only 0 &lt; k &lt; T, each once (s0 comes from the plain
/// exploration). When T &lt; M + 1, l = 0 and there are no probes: EEF's formula gives none, and probing every step
/// instead would change the simulation budget the paper compares at.
/// </summary>
public static class EefProbePlanner
{
    /// <summary>The probes of one expert trajectory, in increasing order of replayed steps.</summary>
    public static IReadOnlyList<EefProbe> Plan(Trajectory failedExpert, int probes)
    {
        ArgumentNullException.ThrowIfNull(failedExpert);
        return [.. Positions(EpisodeReplay.CountSteps(failedExpert), probes).Select(k => new EefProbe(failedExpert, k))];
    }

    /// <summary>The replayed-step counts k of the probes for a recording of <paramref name="steps"/> steps and M = <paramref name="probes"/>.</summary>
    public static IReadOnlyList<int> Positions(int steps, int probes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfNegative(probes);
        long interval = steps / ((long)probes + 1);
        var positions = new List<int>();
        if (interval == 0)
            return positions;
        for (long j = 1; j <= probes; j++)
        {
            long k = j * interval;
            if (k > 0 && k < steps && (positions.Count == 0 || positions[^1] != k))
                positions.Add((int)k);
        }
        return positions;
    }
}
