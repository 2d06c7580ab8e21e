using System.Buffers;
using System.Text.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>Builds and reads the free-form JSON values of <see cref="Trajectory.Metadata"/> and <see cref="PreferencePair.Metadata"/>.</summary>
public static class TrajectoryMetadata
{
    /// <summary>Which format a record was imported from: "eto-sft", "agentgym", "eto-explored", "eto-dpo", "trl-dpo".</summary>
    public const string SourceKey = "source";

    /// <summary>true when the source had no reward and the importer assumed the gold reward 1.0 (ETO SFT convention).</summary>
    public const string RewardAssumedKey = "reward_assumed";

    /// <summary>ALFWorld game file of an ETO SFT row.</summary>
    public const string GameFileKey = "game_file";

    public static JsonElement Value(string value) => Build(w => w.WriteStringValue(value));
    public static JsonElement Value(bool value) => Build(w => w.WriteBooleanValue(value));
    public static JsonElement Value(long value) => Build(w => w.WriteNumberValue(value));

    public static JsonElement Value(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "JSON numbers must be finite");
        return Build(w => w.WriteNumberValue(value));
    }

    /// <summary>Parses a JSON text (an object, an array...) into a detached element.</summary>
    public static JsonElement Parse(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static string? GetString(this IReadOnlyDictionary<string, JsonElement> metadata, string key) =>
        metadata.TryGetValue(key, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool GetFlag(this IReadOnlyDictionary<string, JsonElement> metadata, string key) =>
        metadata.TryGetValue(key, out JsonElement value) && value.ValueKind == JsonValueKind.True;

    private static JsonElement Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        using (var writer = new Utf8JsonWriter(buffer))
            write(writer);
        using JsonDocument document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
