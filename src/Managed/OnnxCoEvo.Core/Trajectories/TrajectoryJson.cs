using System.Text;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>The canonical JSON line of a <see cref="Trajectory"/> (shape documented on <see cref="Trajectory"/>).</summary>
public static class TrajectoryJson
{
    public static IJsonlCodec<Trajectory> Codec { get; } = new TrajectoryCodec();

    /// <summary>The record as one compact JSON line, without the trailing newline.</summary>
    public static string Serialize(Trajectory trajectory) => LineText(Codec, trajectory);

    public static Trajectory Parse(string json, string sourceName = "<memory>") => ParseText(Codec, json, sourceName);

    internal static string LineText<T>(IJsonlCodec<T> codec, T record)
    {
        byte[] line = JsonlLines.Serialize(codec, record);
        return Encoding.UTF8.GetString(line, 0, line.Length - 1);
    }

    internal static T ParseText<T>(IJsonlCodec<T> codec, string json, string sourceName)
    {
        var source = new JsonSource(sourceName);
        using JsonDocument document = source.Parse(json, JsonSyntaxErrorFormat.Record, TurnJson.DocumentOptions);
        return codec.Read(source.Root(document));
    }

    /// <summary>Checks the optional "schema" member: this reader understands versions up to <paramref name="current"/>.</summary>
    internal static int ReadSchemaVersion(LocatedJson root, int current)
    {
        if (root.Optional("schema") is not { } schema)
            return 1;
        int version = schema.GetInt32();
        if (version < 1 || version > current)
            throw schema.Error($"schema version {version} is not supported; this reader understands 1 to {current}");
        return version;
    }

    private sealed class TrajectoryCodec : IJsonlCodec<Trajectory>
    {
        public void Write(Utf8JsonWriter writer, Trajectory t)
        {
            if (t.FindProblem() is { } problem)
                throw new ArgumentException($"trajectory '{t.TaskId}' cannot be written: {problem}", nameof(t));
            writer.WriteStartObject();
            writer.WriteNumber("schema", Trajectory.CurrentSchemaVersion);
            writer.WriteString("task_id", t.TaskId);
            writer.WriteString("environment", t.Environment);
            if (t.Split is null) writer.WriteNull("split");
            else writer.WriteString("split", t.Split);
            writer.WriteString("policy", t.Policy);
            writer.WriteNumber("reward", t.Reward);
            writer.WriteBoolean("success", t.Success);
            writer.WriteNumber("steps", t.Steps);
            writer.WriteString("end_reason", t.EndReason);
            TurnJson.WriteMetadata(writer, t.Metadata);
            TurnJson.Write(writer, "turns", t.Turns, TurnStyle.RoleContent, TurnJson.LossOutput.WhenSet);
            writer.WriteEndObject();
        }

        public Trajectory Read(LocatedJson root)
        {
            root.ExpectKind(JsonValueKind.Object);
            LocatedJson steps = root.Required("steps");
            int stepCount = steps.GetInt32();
            if (stepCount < 0)
                throw steps.Error($"must be >= 0, is {stepCount}");
            return new Trajectory
            {
                SchemaVersion = ReadSchemaVersion(root, Trajectory.CurrentSchemaVersion),
                TaskId = root.Required("task_id").GetNonEmptyString(),
                Environment = root.Required("environment").GetNonEmptyString(),
                Split = root.Optional("split")?.GetString(),
                Policy = root.Required("policy").GetString(),
                Reward = root.Required("reward").GetDouble(),
                Success = root.Required("success").GetBoolean(),
                Steps = stepCount,
                EndReason = root.Required("end_reason").GetNonEmptyString(),
                Metadata = TurnJson.ReadMetadata(root.Optional("metadata")),
                Turns = TurnJson.Read(root.Required("turns"), TurnStyle.RoleContent, readLoss: true),
            };
        }
    }
}

/// <summary>
/// The canonical JSON line of a <see cref="PreferencePair"/>, a superset of TRL's explicit-prompt conversational
/// preference row (TRL loads it as is and ignores the extra columns):
/// <code>
/// {"schema":1,"id":"webshop_12#0","source":"eto","chosen_reward":1,"rejected_reward":0.5,"metadata":{},
///  "prompt":[{"role":"user","content":"..."}],
///  "chosen":[{"role":"assistant","content":"..."}],
///  "rejected":[{"role":"assistant","content":"...","loss":false}]}
/// </code>
/// Pairs must satisfy <see cref="PreferencePair.FindProblem"/> both when written and when read.
/// </summary>
public static class PreferencePairJson
{
    public const int CurrentSchemaVersion = 1;

    public static IJsonlCodec<PreferencePair> Codec { get; } = new PreferencePairCodec();

    public static string Serialize(PreferencePair pair) => TrajectoryJson.LineText(Codec, pair);

    public static PreferencePair Parse(string json, string sourceName = "<memory>") => TrajectoryJson.ParseText(Codec, json, sourceName);

    private sealed class PreferencePairCodec : IJsonlCodec<PreferencePair>
    {
        public void Write(Utf8JsonWriter writer, PreferencePair pair)
        {
            pair.EnsureValid();
            if (string.IsNullOrEmpty(pair.Id))
                throw new ArgumentException("preference pair id must not be empty", nameof(pair));
            writer.WriteStartObject();
            writer.WriteNumber("schema", CurrentSchemaVersion);
            writer.WriteString("id", pair.Id);
            if (pair.Source is not null) writer.WriteString("source", pair.Source);
            if (pair.ChosenReward is double chosen) writer.WriteNumber("chosen_reward", chosen);
            if (pair.RejectedReward is double rejected) writer.WriteNumber("rejected_reward", rejected);
            TurnJson.WriteMetadata(writer, pair.Metadata);
            TurnJson.Write(writer, "prompt", pair.Prompt, TurnStyle.RoleContent, TurnJson.LossOutput.WhenSet);
            TurnJson.Write(writer, "chosen", pair.Chosen, TurnStyle.RoleContent, TurnJson.LossOutput.WhenSet);
            TurnJson.Write(writer, "rejected", pair.Rejected, TurnStyle.RoleContent, TurnJson.LossOutput.WhenSet);
            writer.WriteEndObject();
        }

        public PreferencePair Read(LocatedJson root)
        {
            root.ExpectKind(JsonValueKind.Object);
            ReadSchemaVersion(root);
            var pair = new PreferencePair
            {
                Id = root.Required("id").GetIdString(),
                Source = root.Optional("source")?.GetString(),
                ChosenReward = root.Optional("chosen_reward")?.GetDouble(),
                RejectedReward = root.Optional("rejected_reward")?.GetDouble(),
                Metadata = TurnJson.ReadMetadata(root.Optional("metadata")),
                Prompt = TurnJson.Read(root.Required("prompt"), TurnStyle.RoleContent, readLoss: true),
                Chosen = TurnJson.Read(root.Required("chosen"), TurnStyle.RoleContent, readLoss: true),
                Rejected = TurnJson.Read(root.Required("rejected"), TurnStyle.RoleContent, readLoss: true),
            };
            new PreferencePairCollector(dropInvalidPairs: false).Add(pair, root.Source, root.Path, "role"); // throws when invalid
            return pair;
        }

        private static void ReadSchemaVersion(LocatedJson root) => TrajectoryJson.ReadSchemaVersion(root, CurrentSchemaVersion);
    }
}
