using System.Buffers;
using System.Text.Json;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// The parts of transformers' tokenizer_config.json this toolkit uses: the special token names and the Jinja
/// chat template. Tokens are names (content strings); <see cref="BpeTokenizer"/> resolves them to ids.
/// </summary>
public sealed record TokenizerConfig(
    string? BosToken = null,
    string? EosToken = null,
    string? PadToken = null,
    string? UnkToken = null,
    string? ChatTemplate = null)
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>Reads tokenizer_config.json; token fields may be strings or {"content": ...} objects.</summary>
    public static TokenizerConfig Read(ReadOnlyMemory<byte> utf8, string filePath)
    {
        var r = new JsonFieldReader(filePath);
        using var doc = r.Parse(utf8);
        var root = r.Object(doc.RootElement, "$");
        return new TokenizerConfig(
            ReadToken(r, root, "bos_token"),
            ReadToken(r, root, "eos_token"),
            ReadToken(r, root, "pad_token"),
            ReadToken(r, root, "unk_token"),
            ReadChatTemplate(r, root));
    }

    private static string? ReadToken(JsonFieldReader r, JsonElement root, string name)
    {
        if (JsonFieldReader.Optional(root, name) is not { } value) return null;
        string path = "$." + name;
        return value.ValueKind == JsonValueKind.Object ? r.RequiredString(value, path, "content") : r.String(value, path);
    }

    // chat_template is a string, or (older multi-template configs) a list of {name, template}; "default" wins.
    private static string? ReadChatTemplate(JsonFieldReader r, JsonElement root)
    {
        if (JsonFieldReader.Optional(root, "chat_template") is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Array) return r.String(value, "$.chat_template");
        string? first = null;
        int index = 0;
        foreach (var item in value.EnumerateArray())
        {
            string path = JsonFieldReader.Index("$.chat_template", index++);
            r.Object(item, path);
            string template = r.RequiredString(item, path, "template");
            if (r.OptionalString(item, path, "name") == "default") return template;
            first ??= template;
        }
        return first;
    }

    /// <summary>Writes tokenizer_config.json for transformers' PreTrainedTokenizerFast.</summary>
    internal static byte[] Write(BpeTokenizer tokenizer)
    {
        var config = tokenizer.Config;
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, TokenizerJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteStartObject("added_tokens_decoder");
            foreach (var t in tokenizer.AddedTokens.OrderBy(t => t.Id))
            {
                w.WriteStartObject(t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                TokenizerJson.WriteAddedTokenFields(w, t);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            WriteToken(w, "bos_token", config.BosToken);
            WriteToken(w, "eos_token", config.EosToken);
            WriteToken(w, "pad_token", config.PadToken);
            if (config.UnkToken is not null) WriteToken(w, "unk_token", config.UnkToken);
            if (config.ChatTemplate is not null) w.WriteString("chat_template", config.ChatTemplate);
            // Decoding must give back exactly the text that was encoded; transformers' clean-up would not.
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteToken(Utf8JsonWriter w, string name, string? token)
    {
        if (token is null) w.WriteNull(name);
        else w.WriteString(name, token);
    }
}
