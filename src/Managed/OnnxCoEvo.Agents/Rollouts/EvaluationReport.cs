using System.Text.Json;
using System.Text.Json.Serialization;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Rollouts;

/// <summary>
/// The numbers papers report for an environment split: mean reward ×100 ("score", ETO/Co-Evolving), success rate
/// (reward == 1.0, EEF's win rate), plus the shares the recipes track: failures (r &lt; 1) and near-success failures
/// (0.6 &lt;= r &lt; 1, Co-Evolving's hard negatives), end reasons and steps, and the farm's rates.
/// </summary>
public sealed record EvaluationReport
{
    public const double NearSuccessFloor = 0.6;

    /// <summary>A failure (reward &lt; 1) whose reward is at least <paramref name="floor"/>: Co-Evolving's hard negative.</summary>
    public static bool IsNearSuccess(Trajectory trajectory, double floor = NearSuccessFloor) =>
        !trajectory.MeetsSuccessRule && trajectory.Reward >= floor;

    public required string Environment { get; init; }
    public required string Split { get; init; }
    public required string Policy { get; init; }
    public required int Episodes { get; init; }
    public required int Successes { get; init; }

    /// <summary>Mean episode reward ×100.</summary>
    public required double Score { get; init; }

    public required double SuccessRate { get; init; }
    public required double FailureShare { get; init; }
    public required double NearSuccessShare { get; init; }
    public required double MeanSteps { get; init; }
    public required IReadOnlyDictionary<string, int> EndReasons { get; init; }
    public required double EpisodesPerSecond { get; init; }
    public required double StepsPerSecond { get; init; }
    public required double GeneratedTokensPerSecond { get; init; }
    public required double ElapsedSeconds { get; init; }

    public static EvaluationReport From(string environment, string split, string policy, IReadOnlyList<Trajectory> trajectories, RolloutSummary? run = null)
    {
        int n = trajectories.Count;
        int successes = trajectories.Count(t => t.MeetsSuccessRule);
        int nearSuccess = trajectories.Count(t => IsNearSuccess(t));
        return new EvaluationReport
        {
            Environment = environment,
            Split = split,
            Policy = policy,
            Episodes = n,
            Successes = successes,
            Score = n == 0 ? 0 : 100 * trajectories.Average(t => t.Reward),
            SuccessRate = n == 0 ? 0 : (double)successes / n,
            FailureShare = n == 0 ? 0 : (double)(n - successes) / n,
            NearSuccessShare = n == 0 ? 0 : (double)nearSuccess / n,
            MeanSteps = n == 0 ? 0 : trajectories.Average(t => t.Steps),
            EndReasons = trajectories.GroupBy(t => t.EndReason).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count()),
            EpisodesPerSecond = run?.EpisodesPerSecond ?? 0,
            StepsPerSecond = run?.StepsPerSecond ?? 0,
            GeneratedTokensPerSecond = run?.GeneratedTokensPerSecond ?? 0,
            ElapsedSeconds = run?.Elapsed.TotalSeconds ?? 0,
        };
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Writes the report as JSON atomically (a crash leaves the old file or the new one, never half of one).</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");
}
