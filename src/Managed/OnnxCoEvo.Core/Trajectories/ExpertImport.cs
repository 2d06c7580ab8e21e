using System.Text.Json;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// The mapping shared by the expert-data formats (ETO SFT, AgentTraj): a missing reward is the gold 1.0, recorded
/// as assumed so that exporting leaves it out again; steps are the assistant turns after the instruction's "OK".
/// </summary>
internal static class ExpertImport
{
    public static Trajectory ToTrajectory(
        string taskId, string environment, IReadOnlyList<ChatMessage> turns, double? reward,
        string source, string? split, string? policy, string? gameFile = null)
    {
        var metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { [TrajectoryMetadata.SourceKey] = TrajectoryMetadata.Value(source) };
        if (reward is null) metadata[TrajectoryMetadata.RewardAssumedKey] = TrajectoryMetadata.Value(true);
        if (gameFile is not null) metadata[TrajectoryMetadata.GameFileKey] = TrajectoryMetadata.Value(gameFile);
        double value = reward ?? Trajectory.SuccessReward;
        return new Trajectory
        {
            TaskId = taskId,
            Environment = environment,
            Split = split,
            Policy = policy ?? $"expert:{environment}",
            Reward = value,
            Success = Trajectory.IsSuccessReward(value),
            Steps = TurnJson.CountActionTurns(turns, opensWithAcknowledgement: true),
            EndReason = TrajectoryEndReason.Unknown,
            Metadata = metadata,
            Turns = turns,
        };
    }

    /// <summary>The reward to write back: none when the importer had assumed it.</summary>
    public static double? ExportedReward(Trajectory trajectory) =>
        trajectory.Metadata.GetFlag(TrajectoryMetadata.RewardAssumedKey) ? null : trajectory.Reward;
}
