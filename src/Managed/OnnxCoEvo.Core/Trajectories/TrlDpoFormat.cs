using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// TRL conversational preference data, JSONL: <c>{"prompt":[{"role","content"}...], "chosen":[...], "rejected":[...]}</c>
/// (explicit prompt). The reader also takes the implicit-prompt form (no "prompt"; chosen and rejected hold the
/// whole conversation): the longest shared prefix of whole turns, cut back to end on a user turn, becomes the
/// prompt (TRL's <c>extract_prompt</c> takes the plain shared prefix; the cut keeps the pair rules). An optional
/// "id" is read; without one the id is the line number. The writer emits the explicit form with exactly those three
/// members (no ids, rewards or loss flags: TRL has no place for them; <see cref="PreferencePairJson"/> keeps them).
/// </summary>
public static class TrlDpoFormat
{
    public const string SourceName = "trl-dpo";

    public static PreferencePairReadResult Read(string path, bool dropInvalidPairs = false, bool strict = false)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return Read(stream, path, dropInvalidPairs, strict);
    }

    /// <param name="strict">A torn last line throws instead of being reported in <see cref="PreferencePairReadResult.TornTail"/>.</param>
    public static PreferencePairReadResult Read(Stream stream, string sourceName, bool dropInvalidPairs = false, bool strict = false)
    {
        var collector = new PreferencePairCollector(dropInvalidPairs);
        JsonlTornTail? tornTail = null;
        var options = new JsonlReadOptions { Strict = strict, OnTornTail = tail => tornTail = tail };
        foreach (JsonlRecord<PreferencePair> record in JsonlReader.Read(stream, sourceName, RowCodec, options))
            collector.Add(record.Value, new JsonSource(sourceName, record.LineNumber), "$", "role");
        return collector.ToResult(tornTail);
    }

    /// <summary>Replaces the file atomically. Throws <see cref="ArgumentException"/> for a pair that breaks the rules.</summary>
    public static void Write(string path, IEnumerable<PreferencePair> pairs) => JsonlReader.WriteFile(path, RowCodec, pairs);

    public static void Write(Stream stream, IEnumerable<PreferencePair> pairs) => JsonlReader.Write(stream, RowCodec, pairs);

    private static readonly TrlRowCodec RowCodec = new();

    private sealed class TrlRowCodec : IJsonlCodec<PreferencePair>
    {
        public PreferencePair Read(LocatedJson row)
        {
            row.ExpectKind(JsonValueKind.Object);
            string id = row.Optional("id")?.GetIdString()
                ?? row.Source.LineNumber?.ToString(CultureInfo.InvariantCulture) ?? "0";
            LocatedJson chosenJson = row.Required("chosen");
            List<ChatMessage> chosen = ReadMessages(chosenJson);
            List<ChatMessage> rejected = ReadMessages(row.Required("rejected"));
            List<ChatMessage> prompt;
            if (row.Optional("prompt") is { } promptJson)
            {
                prompt = ReadMessages(promptJson);
            }
            else
            {
                int shared = SharedPromptLength(chosen, rejected);
                if (shared == 0)
                    throw chosenJson.Error("implicit-prompt row: chosen and rejected share no leading turns ending with a user turn, so there is no prompt");
                prompt = chosen[..shared];
                chosen = chosen[shared..];
                rejected = rejected[shared..];
            }
            return new PreferencePair { Id = id, Prompt = prompt, Chosen = chosen, Rejected = rejected, Source = SourceName };
        }

        public void Write(Utf8JsonWriter writer, PreferencePair pair)
        {
            pair.EnsureValid();
            writer.WriteStartObject();
            TurnJson.Write(writer, "prompt", pair.Prompt, TurnStyle.RoleContent, TurnJson.LossOutput.None);
            TurnJson.Write(writer, "chosen", pair.Chosen, TurnStyle.RoleContent, TurnJson.LossOutput.None);
            TurnJson.Write(writer, "rejected", pair.Rejected, TurnStyle.RoleContent, TurnJson.LossOutput.None);
            writer.WriteEndObject();
        }

        private static List<ChatMessage> ReadMessages(LocatedJson messages)
        {
            if (messages.Kind == JsonValueKind.String)
                throw messages.Error("a string (TRL standard format) where conversational messages were expected; only the conversational form is supported");
            return TurnJson.Read(messages, TurnStyle.RoleContent, readLoss: false);
        }

        /// <summary>Whole turns both sides share, cut back to the last shared user turn.</summary>
        private static int SharedPromptLength(List<ChatMessage> chosen, List<ChatMessage> rejected)
        {
            int shared = 0;
            while (shared < chosen.Count && shared < rejected.Count && chosen[shared] == rejected[shared])
                shared++;
            while (shared > 0 && chosen[shared - 1].Role != ChatRole.User)
                shared--;
            return shared;
        }
    }
}
