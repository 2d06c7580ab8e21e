using System.Buffers;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

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
        using var doc = TokenizerJson.Parse(utf8, filePath, out LocatedJson root);
        return new TokenizerConfig(
            ReadToken(root, "bos_token"),
            ReadToken(root, "eos_token"),
            ReadToken(root, "pad_token"),
            ReadToken(root, "unk_token"),
            ReadChatTemplate(root));
    }

    private static string? ReadToken(LocatedJson root, string name)
    {
        if (root.Optional(name) is not { } value) return null;
        return value.Kind == JsonValueKind.Object ? value.RequiredString("content") : value.GetString();
    }

    // chat_template is a string, or (older multi-template configs) a list of {name, template}; "default" wins.
    private static string? ReadChatTemplate(LocatedJson root)
    {
        if (root.Optional("chat_template") is not { } value) return null;
        if (value.Kind != JsonValueKind.Array) return value.GetString();
        string? first = null;
        foreach (LocatedJson item in value.Items())
        {
            item.ExpectKind(JsonValueKind.Object);
            string template = item.RequiredString("template");
            if (item.OptionalString("name") == "default") return template;
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
