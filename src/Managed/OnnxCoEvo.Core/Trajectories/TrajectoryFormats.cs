using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>The trajectory and preference file formats the toolkit reads.</summary>
public enum TrajectoryFormat
{
    /// <summary>Canonical trajectories.jsonl (<see cref="Trajectory"/>, <see cref="TrajectoryStore"/>).</summary>
    Canonical,
    /// <summary>Canonical preference pairs JSONL (<see cref="PreferencePairJson"/>).</summary>
    CanonicalPairs,
    /// <summary>ETO/IPR SFT JSON array (<see cref="EtoSftFormat"/>).</summary>
    EtoSft,
    /// <summary>ETO DPO JSON array (<see cref="EtoDpoFormat"/>).</summary>
    EtoDpo,
    /// <summary>AgentGym AgentTraj JSON array or JSONL (<see cref="AgentTrajFormat"/>).</summary>
    AgentGym,
    /// <summary>One ETO explored-trajectory output file (<see cref="EtoExploredFormat"/>).</summary>
    EtoExplored,
    /// <summary>TRL conversational preference JSONL (<see cref="TrlDpoFormat"/>).</summary>
    TrlDpo,
}

public static class TrajectoryFormats
{
    private static readonly (TrajectoryFormat Format, string Name)[] Names =
    [
        (TrajectoryFormat.Canonical, "jsonl"),
        (TrajectoryFormat.CanonicalPairs, "pairs-jsonl"),
        (TrajectoryFormat.EtoSft, "eto-sft"),
        (TrajectoryFormat.EtoDpo, "eto-dpo"),
        (TrajectoryFormat.AgentGym, "agentgym"),
        (TrajectoryFormat.EtoExplored, "eto-explored"),
        (TrajectoryFormat.TrlDpo, "trl-dpo"),
    ];

    /// <summary>The format's command-line name: jsonl, pairs-jsonl, eto-sft, eto-dpo, agentgym, eto-explored, trl-dpo.</summary>
    public static string Name(TrajectoryFormat format) => Names.First(n => n.Format == format).Name;

    public static bool TryParse(string name, out TrajectoryFormat format)
    {
        foreach ((TrajectoryFormat f, string n) in Names)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                format = f;
                return true;
            }
        }
        format = default;
        return false;
    }

    /// <summary>
    /// Tells the format from the file's first record (only that much is read): a JSON array's first item, or the
    /// first object of a JSONL / single-object file, told apart by its members. Throws <see cref="DataFormatException"/>
    /// when the file is empty, not JSON, or its first record matches no known format.
    /// </summary>
    public static TrajectoryFormat Detect(string path)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return Detect(stream, path);
    }

    public static TrajectoryFormat Detect(Stream stream, string sourceName)
    {
        (byte[] bytes, bool inArray) = FirstRecord.Read(stream, sourceName);
        string recordPath = inArray ? "$[0]" : "$";
        using JsonDocument document = JsonDocument.Parse(bytes, TurnJson.DocumentOptions);
        var record = new LocatedJson(document.RootElement, recordPath, new JsonSource(sourceName));
        if (record.Kind != JsonValueKind.Object)
            throw record.Error($"cannot tell the format: the first record is {LocatedJson.Describe(record.Kind)}, not an object");

        bool Has(string name) => record.Has(name);
        TrajectoryFormat? format = inArray switch
        {
            true when Has("item_id") => TrajectoryFormat.AgentGym,
            true when Has("chosen") && Has("rejected") => TrajectoryFormat.EtoDpo,
            true when Has("conversations") => TrajectoryFormat.EtoSft,
            false when Has("task_id") && Has("turns") => TrajectoryFormat.Canonical,
            false when Has("chosen") && Has("rejected") && Has("schema") => TrajectoryFormat.CanonicalPairs,
            false when Has("chosen") && Has("rejected") => TrajectoryFormat.TrlDpo,
            false when Has("item_id") => TrajectoryFormat.AgentGym,
            false when Has("meta") && Has("conversations") => TrajectoryFormat.EtoExplored,
            _ => null,
        };
        if (format is null)
        {
            string members = string.Join(", ", record.Element.EnumerateObject().Select(p => p.Name).Take(12));
            throw record.Error($"cannot tell the format from the first record's members ({members}); expected canonical (task_id, turns), "
                + "eto-sft (id, conversations), eto-dpo (prompt, chosen, rejected), agentgym (item_id, conversations), "
                + "eto-explored (meta, conversations) or trl-dpo (chosen, rejected)");
        }
        return format.Value;
    }

    /// <summary>Finds the bytes of the first record without reading the rest of the file (its size may be gigabytes).</summary>
    private static class FirstRecord
    {
        public static (byte[] Bytes, bool InArray) Read(Stream stream, string sourceName)
        {
            byte[] buffer = new byte[1 << 14];
            int filled = 0;
            while (true)
            {
                if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                int read = stream.Read(buffer, filled, buffer.Length - filled);
                filled += read;
                if (TryFind(buffer.AsSpan(0, filled), sourceName, out int start, out int end, out bool inArray))
                    return (buffer[start..end], inArray);
                if (read == 0)
                {
                    bool empty = buffer.AsSpan(0, filled).TrimStart((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]).Trim(" \t\r\n"u8).IsEmpty;
                    throw new DataFormatException(sourceName, "$", empty
                        ? "cannot tell the format of an empty file"
                        : "the first record is incomplete: the file ends inside it");
                }
            }
        }

        /// <summary>Looks for the first complete record in what has been read so far (the reader treats the data as unfinished).</summary>
        private static bool TryFind(ReadOnlySpan<byte> data, string sourceName, out int start, out int end, out bool inArray)
        {
            start = end = 0;
            inArray = false;
            int offset = data.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
            var reader = new Utf8JsonReader(data[offset..], isFinalBlock: false, default);
            try
            {
                if (!reader.Read())
                    return false;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    inArray = true;
                    if (!reader.Read()) return false;
                    if (reader.TokenType == JsonTokenType.EndArray)
                        throw new DataFormatException(sourceName, "$", "cannot tell the format of an empty array");
                }
                int tokenStart = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                    return false;
                start = offset + tokenStart;
                end = offset + (int)reader.BytesConsumed;
                return true;
            }
            catch (JsonException e)
            {
                throw new JsonSource(sourceName).SyntaxError(e, JsonSyntaxErrorFormat.LineByte);
            }
        }
    }
}
