using System.Text.Encodings.Web;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>How the formats spell one conversation turn.</summary>
internal enum TurnStyle
{
    /// <summary>{"role":"system|user|assistant","content":...} (canonical, TRL, OpenAI).</summary>
    RoleContent,

    /// <summary>{"from":"system|human|gpt","value":...} (FastChat / ShareGPT: ETO, IPR, AgentGym).</summary>
    FromValue,
}

/// <summary>Reads and writes turn arrays in both spellings, with JSON paths in every error.</summary>
internal static class TurnJson
{
    /// <summary>Writes non-ASCII text as UTF-8 instead of \u escapes (readable files); control characters, newlines and U+2028 stay escaped.</summary>
    public static readonly JsonWriterOptions LineWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonWriterOptions IndentedWriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    public static string SpeakerKey(TurnStyle style) => style == TurnStyle.RoleContent ? "role" : "from";

    /// <param name="readLoss">Read the optional "loss" flag (canonical, AgentGym); otherwise it is ignored.</param>
    /// <param name="lossOnAssistantOnly">AgentGym writes loss null on human turns; keep Loss only where it means something.</param>
    public static List<ChatMessage> Read(LocatedJson array, TurnStyle style, bool readLoss, bool lossOnAssistantOnly = false)
    {
        var turns = new List<ChatMessage>();
        foreach (LocatedJson item in array.Items())
        {
            item.ExpectKind(JsonValueKind.Object);
            ChatRole role = ReadRole(item.Required(SpeakerKey(style)), style);
            string content = item.Required(style == TurnStyle.RoleContent ? "content" : "value").GetString();
            bool? loss = readLoss && item.Optional("loss") is { } flag ? flag.GetNullableBoolean() : null;
            if (lossOnAssistantOnly && role != ChatRole.Assistant)
                loss = null;
            turns.Add(new ChatMessage(role, content, loss));
        }
        return turns;
    }

    private static ChatRole ReadRole(LocatedJson speaker, TurnStyle style)
    {
        string name = speaker.GetString();
        ChatRole? role = (style, name) switch
        {
            (_, "system") => ChatRole.System,
            (TurnStyle.RoleContent, "user") => ChatRole.User,
            (TurnStyle.RoleContent, "assistant") => ChatRole.Assistant,
            (TurnStyle.FromValue, "human") => ChatRole.User,
            (TurnStyle.FromValue, "gpt") => ChatRole.Assistant,
            _ => null,
        };
        return role ?? throw speaker.Error(style == TurnStyle.RoleContent
            ? $"unknown role \"{name}\"; expected system, user or assistant"
            : $"unknown speaker \"{name}\"; expected human, gpt or system");
    }

    public static string SpeakerName(ChatRole role, TurnStyle style) => (role, style) switch
    {
        (ChatRole.System, _) => "system",
        (ChatRole.User, TurnStyle.RoleContent) => "user",
        (ChatRole.Assistant, TurnStyle.RoleContent) => "assistant",
        (ChatRole.User, _) => "human",
        _ => "gpt",
    };

    /// <summary>How a writer spells the loss flag.</summary>
    public enum LossOutput
    {
        /// <summary>No "loss" member (ETO, TRL).</summary>
        None,
        /// <summary>"loss" only where the turn has one (canonical).</summary>
        WhenSet,
        /// <summary>AgentGym: true for trained assistant turns, false for masked ones, null for the rest.</summary>
        AgentGym,
    }

    public static void Write(Utf8JsonWriter writer, string propertyName, IEnumerable<ChatMessage> turns, TurnStyle style, LossOutput loss)
    {
        writer.WriteStartArray(propertyName);
        foreach (ChatMessage turn in turns)
        {
            writer.WriteStartObject();
            writer.WriteString(SpeakerKey(style), SpeakerName(turn.Role, style));
            if (loss == LossOutput.AgentGym)
            {
                // AgentGym puts loss between from and value.
                writer.WritePropertyName("loss");
                if (turn.Role == ChatRole.Assistant) writer.WriteBooleanValue(turn.IsTrained);
                else writer.WriteNullValue();
            }
            writer.WriteString(style == TurnStyle.RoleContent ? "content" : "value", turn.Content);
            if (loss == LossOutput.WhenSet && turn.Loss is bool flag)
                writer.WriteBoolean("loss", flag);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    public static void WriteMetadata(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement> metadata)
    {
        writer.WriteStartObject("metadata");
        foreach ((string key, JsonElement value) in metadata)
        {
            writer.WritePropertyName(key);
            value.WriteTo(writer);
        }
        writer.WriteEndObject();
    }

    public static Dictionary<string, JsonElement> ReadMetadata(LocatedJson? metadata)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (metadata is not { } value)
            return result;
        value.ExpectKind(JsonValueKind.Object);
        foreach (JsonProperty property in value.Element.EnumerateObject())
            result[property.Name] = property.Value.Clone(); // detach: the document is disposed after the line
        return result;
    }

    /// <summary>ETO and AgentGym conversations open with an instruction (user) and an acknowledgement ("OK") that is not an environment step.</summary>
    public static int CountActionTurns(IReadOnlyList<ChatMessage> turns, bool opensWithAcknowledgement)
    {
        int assistantTurns = turns.Count(t => t.Role == ChatRole.Assistant);
        bool hasAcknowledgement = opensWithAcknowledgement && turns.Count >= 2
            && turns[0].Role == ChatRole.User && turns[1].Role == ChatRole.Assistant;
        return hasAcknowledgement ? assistantTurns - 1 : assistantTurns;
    }
}
