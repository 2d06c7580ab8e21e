using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Training;

/// <summary>Small agent-shaped datasets and a tiny model directory for trainer tests.</summary>
internal static class TrainingSamples
{
    private static readonly string[] Items = ["red mug", "blue lamp", "green chair", "black pen", "white desk", "gold ring", "grey sofa", "pink cup"];

    /// <summary>The tiny preset written once per directory (fp32, seed 3).</summary>
    public static string TinyModel(TempDirectory dir, string name = "tiny")
    {
        string path = dir.File(name);
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = path, Seed = 3 });
        return path;
    }

    /// <summary>An instruction turn, an "OK" turn (never trained, as ETO masks nothing there but we flag it), a task and two actions.</summary>
    public static Trajectory Episode(int i, double reward = 1.0)
    {
        string item = Items[i % Items.Length];
        return new Trajectory
        {
            TaskId = $"shop_{i}",
            Environment = "webshop",
            Split = "train",
            Policy = "expert:test",
            Reward = reward,
            Success = reward == 1.0,
            Steps = 2,
            EndReason = "done",
            Turns =
            [
                ChatMessage.User("You are web shopping. Reply with Thought and Action."),
                ChatMessage.Assistant("OK", loss: false),
                ChatMessage.User($"Instruction: buy a {item}"),
                ChatMessage.Assistant($"Thought: search first.\nAction: search[{item}]"),
                ChatMessage.User($"Observation: [SEP] {item} [SEP] Buy Now"),
                ChatMessage.Assistant("Thought: it fits.\nAction: click[buy now]"),
            ],
        };
    }

    public static string WriteSft(TempDirectory dir, int count, string name = "sft.jsonl", Func<int, Trajectory>? make = null)
    {
        string path = dir.File(name);
        DatasetFiles.WriteTrajectories(path, TrajectoryFormat.Canonical, Enumerable.Range(0, count).Select(make ?? (i => Episode(i))));
        return path;
    }

    /// <summary>Pairs whose chosen buys the asked item and whose rejected buys the wrong one.</summary>
    public static PreferencePair Pair(int i)
    {
        string item = Items[i % Items.Length], wrong = Items[(i + 3) % Items.Length];
        return new PreferencePair
        {
            Id = $"pair_{i}",
            Prompt =
            [
                ChatMessage.User("You are web shopping. Reply with Thought and Action."),
                ChatMessage.Assistant("OK"),
                ChatMessage.User($"Instruction: buy a {item}"),
            ],
            Chosen =
            [
                ChatMessage.Assistant($"Thought: search.\nAction: search[{item}]"),
                ChatMessage.User($"Observation: [SEP] {item} [SEP] {wrong}"),
                ChatMessage.Assistant($"Thought: found it.\nAction: click[{item}]"),
            ],
            Rejected =
            [
                ChatMessage.Assistant($"Thought: search.\nAction: search[{wrong}]"),
                ChatMessage.User($"Observation: [SEP] {wrong} [SEP] {item}"),
                ChatMessage.Assistant($"Thought: close enough.\nAction: click[{wrong}]"),
            ],
            ChosenReward = 1.0,
            RejectedReward = 0.0,
            Source = "test",
        };
    }

    public static string WritePairs(TempDirectory dir, int count, string name = "pairs.jsonl")
    {
        string path = dir.File(name);
        DatasetFiles.WritePairs(path, TrajectoryFormat.CanonicalPairs, Enumerable.Range(0, count).Select(Pair));
        return path;
    }
}
