using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// One row of an ETO/IPR SFT file (<c>data/&lt;task&gt;_sft.json</c>, FastChat/ShareGPT style). Reward is null when the
/// row has none (SciWorld/ALFWorld gold); <see cref="GameFile"/> is ALFWorld's.
/// </summary>
public sealed record EtoSftItem(string Id, IReadOnlyList<ChatMessage> Conversations, double? Reward = null, string? GameFile = null);

/// <summary>
/// ETO/IPR SFT JSON: <c>[{"id", "conversations":[{"from":"human"|"gpt"|"system","value"}], "reward"?, "game_file"?}]</c>.
/// Ids may be strings or integers in the file; they are read and written as strings.
/// </summary>
public static class EtoSftFormat
{
    public const string SourceName = "eto-sft";

    public static IReadOnlyList<EtoSftItem> Read(string path) => JsonFiles.ReadArray(path, ReadItem);

    public static IReadOnlyList<EtoSftItem> Read(Stream stream, string sourceName) => JsonFiles.ReadArray(stream, sourceName, ReadItem);

    public static void Write(string path, IEnumerable<EtoSftItem> items) => JsonFiles.WriteArray(path, items, WriteItem);

    public static void Write(Stream stream, IEnumerable<EtoSftItem> items) => JsonFiles.WriteArray(stream, items, WriteItem);

    /// <summary>
    /// The row as a trajectory. A missing reward becomes 1.0 (ETO treats SFT gold as success) and
    /// metadata "reward_assumed": true records that it was assumed. Steps count the assistant turns after the
    /// instruction's "OK"; the end reason is unknown (the file does not say).
    /// </summary>
    public static Trajectory ToTrajectory(EtoSftItem item, string environment, string? split = null, string? policy = null) =>
        ExpertImport.ToTrajectory(item.Id, environment, item.Conversations, item.Reward, SourceName, split, policy, item.GameFile);

    /// <summary>The trajectory as an SFT row; an assumed reward is left out again, a "game_file" metadata string is kept. Loss flags are dropped (FastChat trains every gpt turn).</summary>
    public static EtoSftItem FromTrajectory(Trajectory trajectory) => new(
        trajectory.TaskId,
        trajectory.Turns,
        ExpertImport.ExportedReward(trajectory),
        trajectory.Metadata.GetString(TrajectoryMetadata.GameFileKey));

    private static EtoSftItem ReadItem(LocatedJson item)
    {
        item.ExpectKind(JsonValueKind.Object);
        return new EtoSftItem(
            item.Required("id").GetIdString(),
            TurnJson.Read(item.Required("conversations"), TurnStyle.FromValue, readLoss: false),
            item.Optional("reward")?.GetDouble(),
            item.Optional("game_file")?.GetString());
    }

    private static void WriteItem(Utf8JsonWriter writer, EtoSftItem item)
    {
        if (item.Reward is double reward && !double.IsFinite(reward))
            throw new ArgumentException($"SFT item '{item.Id}': reward must be finite");
        writer.WriteStartObject();
        writer.WriteString("id", item.Id);
        if (item.Reward is double r) writer.WriteNumber("reward", r);
        if (item.GameFile is not null) writer.WriteString("game_file", item.GameFile);
        TurnJson.Write(writer, "conversations", item.Conversations, TurnStyle.FromValue, TurnJson.LossOutput.None);
        writer.WriteEndObject();
    }
}
