using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>What to do with the prompt that ETO's harness puts before the task in an explored trajectory.</summary>
public enum EtoPromptPrefix
{
    /// <summary>Keep every message: instruction, "OK", the in-context example, then the task.</summary>
    Keep,

    /// <summary>Keep the instruction and its "OK", drop the in-context example: the layout of ETO SFT rows.</summary>
    DropIclExample,

    /// <summary>Drop instruction, "OK" and example, as ETO's <c>construct_preference.py</c> does: the result starts with the task.</summary>
    DropInstructionAndIcl,
}

public sealed record EtoExploredReadOptions
{
    public required string Environment { get; init; }
    public EtoPromptPrefix PromptPrefix { get; init; } = EtoPromptPrefix.Keep;

    /// <summary>Length of instruction + "OK" + example in messages; null uses <see cref="EtoExploredFormat.PromptPrefixLength"/>.</summary>
    public int? PromptPrefixLength { get; init; }

    public string? Split { get; init; }
    public string Policy { get; init; } = "eto-explored";
}

/// <summary>
/// Reader for ETO's explored-trajectory files <c>outputs/&lt;model&gt;/&lt;task&gt;/&lt;task_id&gt;.json</c>:
/// <c>{"meta":{"steps","reward","finished","success","terminate_reason","error"}, "conversations":[from/value...]}</c>.
/// <list type="bullet">
/// <item>Task id: the file name without extension; for ALFWorld the game id, <c>meta.error.split('/')[-2]</c>, as ETO pairs them (the file id is kept in metadata "eto_file_id").</item>
/// <item>Reward: a number, or a boolean cast to 1.0/0.0 (ALFWorld); null becomes 0.0 with metadata "reward_missing".</item>
/// <item>Success: the project rule (reward == 1.0). ETO's own flag (any episode ending in done) is kept as "eto_success".</item>
/// <item>End reason: "success" → done, "max_steps" → max_steps, "exceeding maximum input length" → context_limit, null → unknown, others verbatim.</item>
/// </list>
/// </summary>
public static class EtoExploredFormat
{
    public const string SourceName = "eto-explored";

    /// <summary>Messages of instruction + "OK" + one-shot example per environment (ETO <c>pred_traj_offset</c>).</summary>
    public static int PromptPrefixLength(string environment) => environment switch
    {
        "webshop" => 10,
        "sciworld" => 16,
        "alfworld" => 12,
        _ => throw new ArgumentException($"no known ETO prompt prefix length for environment \"{environment}\"; pass EtoExploredReadOptions.PromptPrefixLength"),
    };

    public static Trajectory Read(string path, EtoExploredReadOptions options)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return Read(stream, path, Path.GetFileNameWithoutExtension(path), options);
    }

    /// <param name="fileId">The task id ETO wrote into the file name.</param>
    public static Trajectory Read(Stream stream, string sourceName, string fileId, EtoExploredReadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using JsonDocument document = JsonFiles.Parse(stream, sourceName);
        var root = new JsonSource(sourceName).Root(document);
        root.ExpectKind(JsonValueKind.Object);
        LocatedJson meta = root.Required("meta");
        meta.ExpectKind(JsonValueKind.Object);

        LocatedJson stepsJson = meta.Required("steps");
        int steps = stepsJson.GetInt32();
        if (steps < 0) throw stepsJson.Error($"must be >= 0, is {steps}");
        LocatedJson rewardJson = meta.Required("reward");
        double? reward = rewardJson.Kind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.True or JsonValueKind.False => rewardJson.GetBoolean() ? 1.0 : 0.0,
            _ => rewardJson.GetDouble(),
        };
        bool? etoSuccess = meta.Optional("success")?.GetBoolean();
        bool? finished = meta.Optional("finished")?.GetBoolean();
        string? terminateReason = meta.Optional("terminate_reason")?.GetString();
        string? error = meta.Optional("error")?.GetString();

        LocatedJson conversationsJson = root.Required("conversations");
        List<ChatMessage> turns = TurnJson.Read(conversationsJson, TurnStyle.FromValue, readLoss: false);
        int dropped = DropPrefix(turns, options, conversationsJson);

        var metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal) { [TrajectoryMetadata.SourceKey] = TrajectoryMetadata.Value(SourceName) };
        if (reward is null) metadata["reward_missing"] = TrajectoryMetadata.Value(true);
        if (etoSuccess is bool s) metadata["eto_success"] = TrajectoryMetadata.Value(s);
        if (finished is bool f) metadata["eto_finished"] = TrajectoryMetadata.Value(f);
        if (terminateReason is not null) metadata["eto_terminate_reason"] = TrajectoryMetadata.Value(terminateReason);
        if (error is not null) metadata["eto_error"] = TrajectoryMetadata.Value(error);
        if (dropped > 0) metadata["prompt_messages_dropped"] = TrajectoryMetadata.Value(dropped);

        string taskId = fileId;
        if (options.Environment == "alfworld" && error?.Split('/') is { Length: >= 2 } parts && parts[^2].Length > 0)
        {
            taskId = parts[^2];
            metadata["eto_file_id"] = TrajectoryMetadata.Value(fileId);
        }
        if (taskId.Length == 0)
            throw new DataFormatException(sourceName, "$", "no task id: the file id is empty");

        return new Trajectory
        {
            TaskId = taskId,
            Environment = options.Environment,
            Split = options.Split,
            Policy = options.Policy,
            Reward = reward ?? 0.0,
            Success = Trajectory.IsSuccessReward(reward ?? 0.0),
            Steps = steps,
            EndReason = MapEndReason(terminateReason),
            Metadata = metadata,
            Turns = turns,
        };
    }

    private static string MapEndReason(string? terminateReason) => terminateReason switch
    {
        null => TrajectoryEndReason.Unknown,
        "success" => TrajectoryEndReason.Done,
        "max_steps" => TrajectoryEndReason.MaxSteps,
        "exceeding maximum input length" => TrajectoryEndReason.ContextLimit,
        _ => terminateReason,
    };

    /// <summary>Removes the requested part of the prompt prefix in place; returns how many messages went.</summary>
    private static int DropPrefix(List<ChatMessage> turns, EtoExploredReadOptions options, LocatedJson conversations)
    {
        if (options.PromptPrefix == EtoPromptPrefix.Keep)
            return 0;
        int prefix = options.PromptPrefixLength ?? PromptPrefixLength(options.Environment);
        if (prefix < 2)
            throw new ArgumentException($"prompt prefix length must be at least 2 (instruction and OK), is {prefix}");
        if (turns.Count <= prefix)
            throw conversations.Error($"has {turns.Count} messages, not more than the {options.Environment} prompt prefix ({prefix}): there is no task turn");
        if (turns[prefix].Role != ChatRole.User)
            throw new DataFormatException(conversations.Source.FilePath, $"{conversations.Path}[{prefix}].from",
                $"expected the task (a human turn) right after the {prefix}-message prompt prefix");
        int start = options.PromptPrefix == EtoPromptPrefix.DropIclExample ? 2 : 0;
        turns.RemoveRange(start, prefix - start);
        return prefix - start;
    }
}
