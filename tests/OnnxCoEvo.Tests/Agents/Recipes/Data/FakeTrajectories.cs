using System.Text.Json;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

/// <summary>Hand-built trajectories of a fake task: instruction, "OK", first observation, then (action, observation) pairs.</summary>
internal static class FakeTrajectories
{
    /// <summary>Actions "a0".."a(n-1)" (or <paramref name="actionPrefix"/>), observations "o1".."on"; optionally without the last observation.</summary>
    public static Trajectory Build(string task, int actions, double reward, string policy = "expert", string actionPrefix = "a",
        bool endOnObservation = true, int sample = 0)
    {
        var turns = new List<ChatMessage> { ChatMessage.User($"instruction for {task}"), ChatMessage.Assistant("OK", loss: false), ChatMessage.User($"first observation of {task}") };
        for (int i = 0; i < actions; i++)
        {
            turns.Add(ChatMessage.Assistant($"{actionPrefix}{i}"));
            if (i < actions - 1 || endOnObservation)
                turns.Add(ChatMessage.User($"o{i + 1}"));
        }
        return Make(task, policy, reward, turns, new Dictionary<string, JsonElement> { [Episode.SampleKey] = TrajectoryMetadata.Value(sample) });
    }

    /// <summary>A student rollout restored at <paramref name="replayedSteps"/> of <paramref name="expert"/>: its prefix, then "b0".."b(n-1)" with observations "p1"...</summary>
    public static Trajectory Rollout(Trajectory expert, int replayedSteps, int studentActions, double reward, int sample = 0)
    {
        var turns = expert.Turns.Take(3 + 2 * replayedSteps).ToList();
        for (int i = 0; i < studentActions; i++)
        {
            turns.Add(ChatMessage.Assistant($"b{i}"));
            turns.Add(ChatMessage.User($"p{i + 1}"));
        }
        var metadata = new Dictionary<string, JsonElement> { [Episode.SampleKey] = TrajectoryMetadata.Value(sample) };
        if (replayedSteps > 0)
            metadata[Episode.ReplayedStepsKey] = TrajectoryMetadata.Value(replayedSteps);
        return Make(expert.TaskId, "student", reward, turns, metadata);
    }

    private static Trajectory Make(string task, string policy, double reward, List<ChatMessage> turns, Dictionary<string, JsonElement> metadata) => new()
    {
        TaskId = task,
        Environment = "fake",
        Split = "train",
        Policy = policy,
        Reward = reward,
        Success = Trajectory.IsSuccessReward(reward),
        Steps = (turns.Count - 2) / 2,
        EndReason = TrajectoryEndReason.Done,
        Metadata = metadata,
        Turns = turns,
    };

    /// <summary>The contents of the assistant turns of a continuation, e.g. ["a0", "a1"].</summary>
    public static string[] Actions(IReadOnlyList<ChatMessage> turns) =>
        turns.Where(t => t.Role == ChatRole.Assistant).Select(t => t.Content).ToArray();
}
