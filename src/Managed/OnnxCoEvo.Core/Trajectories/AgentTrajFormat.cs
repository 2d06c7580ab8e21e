using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// One AgentGym AgentTraj / AgentEval item. <see cref="ItemId"/> is "&lt;environment&gt;_&lt;index&gt;" ("webshop_6");
/// AgentEval items have no conversation (empty list). Turn <see cref="ChatMessage.Loss"/> is AgentGym's per-turn flag.
/// </summary>
public sealed record AgentTrajItem(string ItemId, IReadOnlyList<ChatMessage> Conversations, double? Reward = null)
{
    /// <summary>Text before the last '_' of the item id.</summary>
    public string Environment => AgentTrajFormat.ParseItemId(ItemId).Environment;

    /// <summary>Integer after the last '_' of the item id.</summary>
    public int Index => AgentTrajFormat.ParseItemId(ItemId).Index;
}

/// <summary>
/// AgentGym AgentTraj JSON: an array (or JSONL) of
/// <c>{"item_id":"webshop_6", "conversations":[{"from":"human"|"gpt","loss":null|true|false,"value"}], "reward"?}</c>.
/// Reading keeps "loss" on gpt turns (null, true or false) and drops it on human turns, where it means nothing.
/// Writing emits a JSON array with loss true on trained assistant turns, false on masked ones and null on the rest.
/// A JSONL input must not have a torn last line (it is an imported file, not a live log).
/// </summary>
public static class AgentTrajFormat
{
    public const string SourceName = "agentgym";

    public static IReadOnlyList<AgentTrajItem> Read(string path)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return Read(stream, path);
    }

    public static IReadOnlyList<AgentTrajItem> Read(Stream stream, string sourceName)
    {
        stream = JsonFiles.Seekable(stream);
        if (JsonFiles.PeekFirstSignificantByte(stream) == '[')
            return JsonFiles.ReadArray(stream, sourceName, ReadItem);
        return JsonlReader.ReadAll(stream, sourceName, ItemCodec, strict: true).Records;
    }

    public static void Write(string path, IEnumerable<AgentTrajItem> items) => JsonFiles.WriteArray(path, items, ItemCodec.Write);

    public static void Write(Stream stream, IEnumerable<AgentTrajItem> items) => JsonFiles.WriteArray(stream, items, ItemCodec.Write);

    /// <summary>Splits "webshop_6" into ("webshop", 6). Throws <see cref="FormatException"/> for other shapes.</summary>
    public static (string Environment, int Index) ParseItemId(string itemId)
    {
        return TryParseItemId(itemId, out string environment, out int index)
            ? (environment, index)
            : throw new FormatException($"AgentGym item id \"{itemId}\" is not <environment>_<index>");
    }

    public static bool TryParseItemId(string itemId, out string environment, out int index)
    {
        int underscore = itemId.LastIndexOf('_');
        environment = underscore > 0 ? itemId[..underscore] : "";
        index = 0;
        return underscore > 0 && int.TryParse(itemId.AsSpan(underscore + 1), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>
    /// The item as a trajectory: task id = item id, environment from the item id. A missing reward becomes 1.0
    /// with metadata "reward_assumed" (AgentTraj holds expert successes), as for ETO SFT.
    /// </summary>
    public static Trajectory ToTrajectory(AgentTrajItem item, string? split = null, string? policy = null) =>
        ExpertImport.ToTrajectory(item.ItemId, item.Environment, item.Conversations, item.Reward, SourceName, split, policy);

    /// <summary>
    /// The trajectory as an item. The item id is the task id when that already reads "&lt;environment&gt;_&lt;index&gt;",
    /// else "&lt;environment&gt;_&lt;task id&gt;" for an integer task id; other task ids cannot be expressed (ArgumentException).
    /// </summary>
    public static AgentTrajItem FromTrajectory(Trajectory trajectory)
    {
        string itemId = TryParseItemId(trajectory.TaskId, out string environment, out _) && environment == trajectory.Environment
            ? trajectory.TaskId
            : $"{trajectory.Environment}_{trajectory.TaskId}";
        if (!TryParseItemId(itemId, out environment, out _) || environment != trajectory.Environment)
            throw new ArgumentException($"task id \"{trajectory.TaskId}\" of environment \"{trajectory.Environment}\" cannot be an AgentGym item id (<environment>_<index>)");
        return new AgentTrajItem(itemId, trajectory.Turns, ExpertImport.ExportedReward(trajectory));
    }

    private static readonly AgentTrajItemCodec ItemCodec = new();

    private static AgentTrajItem ReadItem(LocatedJson item) => ItemCodec.Read(item);

    private sealed class AgentTrajItemCodec : IJsonlCodec<AgentTrajItem>
    {
        public AgentTrajItem Read(LocatedJson item)
        {
            item.ExpectKind(JsonValueKind.Object);
            LocatedJson id = item.Required("item_id");
            string itemId = id.GetNonEmptyString();
            if (!TryParseItemId(itemId, out _, out _))
                throw id.Error($"\"{itemId}\" is not <environment>_<index>");
            IReadOnlyList<ChatMessage> conversations = item.Required("conversations").Kind == JsonValueKind.Null
                ? [] // AgentEval: a task list without conversations
                : TurnJson.Read(item.Required("conversations"), TurnStyle.FromValue, readLoss: true, lossOnAssistantOnly: true);
            return new AgentTrajItem(itemId, conversations, item.Optional("reward")?.GetDouble());
        }

        public void Write(Utf8JsonWriter writer, AgentTrajItem item)
        {
            if (!TryParseItemId(item.ItemId, out _, out _))
                throw new ArgumentException($"AgentGym item id \"{item.ItemId}\" is not <environment>_<index>");
            if (item.Reward is double reward && !double.IsFinite(reward))
                throw new ArgumentException($"AgentGym item '{item.ItemId}': reward must be finite");
            writer.WriteStartObject();
            writer.WriteString("item_id", item.ItemId);
            if (item.Conversations.Count == 0)
                writer.WriteNull("conversations");
            else
                TurnJson.Write(writer, "conversations", item.Conversations, TurnStyle.FromValue, TurnJson.LossOutput.AgentGym);
            if (item.Reward is double r) writer.WriteNumber("reward", r);
            writer.WriteEndObject();
        }
    }
}
