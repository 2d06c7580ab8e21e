using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// ETO DPO JSON (also IPR step-level pairs and AgentGym's DPO file):
/// <c>[{"id", "prompt":[from/value...], "chosen":[gpt, human, ..., gpt], "rejected":[gpt, ..., gpt]}]</c>.
/// Shape errors always throw; pairs breaking the rules (<see cref="PreferencePair.FindProblem"/>) throw too,
/// unless <c>dropInvalidPairs</c> is set: then they are counted in <see cref="PreferencePairReadResult.Dropped"/>,
/// as ETO's <c>construct_preference.py</c> drops them. Rewards, source and metadata are not part of the format.
/// </summary>
public static class EtoDpoFormat
{
    public const string SourceName = "eto-dpo";

    public static PreferencePairReadResult Read(string path, bool dropInvalidPairs = false)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return Read(stream, path, dropInvalidPairs);
    }

    public static PreferencePairReadResult Read(Stream stream, string sourceName, bool dropInvalidPairs = false)
    {
        var collector = new PreferencePairCollector(dropInvalidPairs);
        JsonFiles.ForEachItem(stream, sourceName, item => collector.Add(ReadPair(item), item.Source, item.Path, "from"));
        return collector.ToResult();
    }

    /// <summary>Throws <see cref="ArgumentException"/> for a pair that breaks the rules (ETO would drop it).</summary>
    public static void Write(string path, IEnumerable<PreferencePair> pairs) => JsonFiles.WriteArray(path, pairs, WritePair);

    public static void Write(Stream stream, IEnumerable<PreferencePair> pairs) => JsonFiles.WriteArray(stream, pairs, WritePair);

    private static PreferencePair ReadPair(LocatedJson item)
    {
        item.ExpectKind(JsonValueKind.Object);
        return new PreferencePair
        {
            Id = item.Required("id").GetIdString(),
            Prompt = TurnJson.Read(item.Required("prompt"), TurnStyle.FromValue, readLoss: false),
            Chosen = TurnJson.Read(item.Required("chosen"), TurnStyle.FromValue, readLoss: false),
            Rejected = TurnJson.Read(item.Required("rejected"), TurnStyle.FromValue, readLoss: false),
            Source = SourceName,
        };
    }

    private static void WritePair(Utf8JsonWriter writer, PreferencePair pair)
    {
        pair.EnsureValid();
        writer.WriteStartObject();
        writer.WriteString("id", pair.Id);
        TurnJson.Write(writer, "prompt", pair.Prompt, TurnStyle.FromValue, TurnJson.LossOutput.None);
        TurnJson.Write(writer, "chosen", pair.Chosen, TurnStyle.FromValue, TurnJson.LossOutput.None);
        TurnJson.Write(writer, "rejected", pair.Rejected, TurnStyle.FromValue, TurnJson.LossOutput.None);
        writer.WriteEndObject();
    }
}
