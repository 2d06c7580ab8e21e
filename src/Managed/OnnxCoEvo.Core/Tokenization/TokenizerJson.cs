using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// Reads and writes Hugging Face tokenizer.json for byte-level BPE. Anything this toolkit would not encode exactly
/// as Hugging Face does (other model types, byte fallback, dropout, unknown components) is refused with the JSON
/// path of the offending field rather than half-supported.
/// </summary>
internal static class TokenizerJson
{
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // tokens such as "Ġthe" stay readable
    };

    public static BpeTokenizer Read(ReadOnlyMemory<byte> utf8, string filePath, TokenizerConfig config)
    {
        var r = new JsonFieldReader(filePath);
        using var doc = r.Parse(utf8);
        var root = r.Object(doc.RootElement, "$");
        var model = ReadModel(r, r.Object(r.Required(root, "$", "model"), "$.model"));
        var added = ReadAddedTokens(r, root);
        var normalizer = JsonFieldReader.Optional(root, "normalizer") is { } n ? ReadNormalizer(r, n, "$.normalizer") : null;
        var preTokenizer = ReadPreTokenizer(r, r.Required(root, "$", "pre_tokenizer"), "$.pre_tokenizer");
        if (!preTokenizer.HasByteLevel)
            throw r.Error("$.pre_tokenizer", "no ByteLevel step: only byte-level BPE tokenizers are supported");
        bool IsKnownId(int id) => model.GetToken(id) is not null || added.Any(a => a.Id == id);
        var postProcessor = JsonFieldReader.Optional(root, "post_processor") is { } p
            ? ReadPostProcessor(r, p, "$.post_processor", IsKnownId)
            : null;
        var decoder = JsonFieldReader.Optional(root, "decoder") is { } d ? ReadDecoder(r, d, "$.decoder") : null;
        // truncation and padding configure batch encoding in Hugging Face; this toolkit pads and truncates itself.
        return new BpeTokenizer(model, added, normalizer, preTokenizer, postProcessor, decoder, config);
    }

    private static BpeModel ReadModel(JsonFieldReader r, JsonElement model)
    {
        const string path = "$.model";
        string? type = r.OptionalString(model, path, "type");
        if (type is not null && type != "BPE")
            throw r.Error(path + ".type", $"unsupported model type '{type}': only BPE is supported");
        if (r.OptionalBool(model, path, "byte_fallback", false))
            throw r.Error(path + ".byte_fallback", "byte_fallback true is not supported (byte-level BPE needs no fallback)");
        if (JsonFieldReader.Optional(model, "dropout") is { } dropout
            && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
            throw r.Error(path + ".dropout", "BPE dropout is not supported (expected null)");
        foreach (string affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (r.OptionalString(model, path, affix) is { Length: > 0 } value)
                throw r.Error($"{path}.{affix}", $"'{value}' is not supported (expected null)");
        }
        bool ignoreMerges = r.OptionalBool(model, path, "ignore_merges", false);

        var vocabElement = r.Object(r.Required(model, path, "vocab"), path + ".vocab");
        var vocab = new Dictionary<string, int>(vocabElement.GetPropertyCount());
        var seenIds = new HashSet<int>();
        foreach (var entry in vocabElement.EnumerateObject())
        {
            string entryPath = JsonFieldReader.Key(path + ".vocab", entry.Name);
            int id = r.Int32(entry.Value, entryPath);
            if (id < 0) throw r.Error(entryPath, $"negative id {id}");
            if (!vocab.TryAdd(entry.Name, id)) throw r.Error(entryPath, "token appears twice");
            if (!seenIds.Add(id)) throw r.Error(entryPath, $"id {id} is given to two tokens");
        }

        int? unknownId = null;
        if (r.OptionalString(model, path, "unk_token") is { } unk)
            unknownId = vocab.TryGetValue(unk, out int u) ? u : throw r.Error(path + ".unk_token", $"'{unk}' is not in the vocabulary");

        var mergesElement = r.Array(r.Required(model, path, "merges"), path + ".merges");
        var merges = new List<BpeMerge>(mergesElement.GetArrayLength());
        int index = 0;
        foreach (var item in mergesElement.EnumerateArray())
        {
            string itemPath = JsonFieldReader.Index(path + ".merges", index++);
            var (left, right) = ReadMergePair(r, item, itemPath);
            merges.Add(new BpeMerge(
                LookUp(r, vocab, left, itemPath),
                LookUp(r, vocab, right, itemPath),
                LookUp(r, vocab, left + right, itemPath)));
        }
        return new BpeModel(vocab, merges, ignoreMerges, unknownId);
    }

    private static (string Left, string Right) ReadMergePair(JsonFieldReader r, JsonElement item, string path)
    {
        if (item.ValueKind == JsonValueKind.String)
        {
            // Old form "a b": byte-level tokens never contain a space, so exactly one separates the two.
            string text = item.GetString()!;
            int space = text.IndexOf(' ');
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                throw r.Error(path, $"merge \"{text}\" is not two tokens separated by one space");
            return (text[..space], text[(space + 1)..]);
        }
        if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2)
            return (r.String(item[0], path + "[0]"), r.String(item[1], path + "[1]"));
        throw r.Error(path, "a merge must be \"a b\" or [\"a\", \"b\"]");
    }

    private static int LookUp(JsonFieldReader r, Dictionary<string, int> vocab, string token, string path) =>
        vocab.TryGetValue(token, out int id) ? id : throw r.Error(path, $"merge names token '{token}', which is not in the vocabulary");

    private static List<AddedToken> ReadAddedTokens(JsonFieldReader r, JsonElement root)
    {
        var result = new List<AddedToken>();
        if (JsonFieldReader.Optional(root, "added_tokens") is not { } array) return result;
        r.Array(array, "$.added_tokens");
        var ids = new HashSet<int>();
        int index = 0;
        foreach (var item in array.EnumerateArray())
        {
            string path = JsonFieldReader.Index("$.added_tokens", index++);
            r.Object(item, path);
            int id = r.Int32(r.Required(item, path, "id"), path + ".id");
            if (id < 0) throw r.Error(path + ".id", $"negative id {id}");
            if (!ids.Add(id)) throw r.Error(path + ".id", $"id {id} is given to two added tokens");
            string content = r.RequiredString(item, path, "content");
            if (content.Length == 0) throw r.Error(path + ".content", "empty added token");
            bool special = r.OptionalBool(item, path, "special", false);
            result.Add(new AddedToken(
                id,
                content,
                special,
                r.OptionalBool(item, path, "single_word", false),
                r.OptionalBool(item, path, "lstrip", false),
                r.OptionalBool(item, path, "rstrip", false),
                r.OptionalBool(item, path, "normalized", !special)));
        }
        return result;
    }

    private static TextNormalizer ReadNormalizer(JsonFieldReader r, JsonElement element, string path)
    {
        r.Object(element, path);
        return r.RequiredString(element, path, "type") switch
        {
            "NFC" => new NfcNormalizer(),
            "Sequence" => new SequenceNormalizer(ReadList(r, element, path, "normalizers", ReadNormalizer)),
            var other => throw r.Error(path + ".type", $"unsupported normalizer '{other}' (supported: NFC, Sequence)"),
        };
    }

    private static PreTokenizer ReadPreTokenizer(JsonFieldReader r, JsonElement element, string path)
    {
        r.Object(element, path);
        switch (r.RequiredString(element, path, "type"))
        {
            case "ByteLevel":
                var (prefix, trim, regex) = ReadByteLevelFlags(r, element, path);
                return new ByteLevelPreTokenizer(prefix, trim, regex);
            case "Split":
                string behavior = r.RequiredString(element, path, "behavior");
                if (behavior != "Isolated")
                    throw r.Error(path + ".behavior", $"unsupported split behavior '{behavior}' (supported: Isolated)");
                if (r.OptionalBool(element, path, "invert", false))
                    throw r.Error(path + ".invert", "invert true is not supported");
                var pattern = r.Object(r.Required(element, path, "pattern"), path + ".pattern");
                bool isRegex = JsonFieldReader.Optional(pattern, "Regex").HasValue;
                string patternPath = path + ".pattern." + (isRegex ? "Regex" : "String");
                string text = isRegex
                    ? r.RequiredString(pattern, path + ".pattern", "Regex")
                    : r.RequiredString(pattern, path + ".pattern", "String");
                try
                {
                    return new RegexSplitPreTokenizer(text, isRegex);
                }
                catch (ArgumentException e)
                {
                    throw new DataFormatException(r.FilePath, patternPath, $"regex not accepted by .NET: {e.Message}", e);
                }
            case "Digits":
                return new DigitsPreTokenizer(r.OptionalBool(element, path, "individual_digits", false));
            case "Sequence":
                return new SequencePreTokenizer(ReadList(r, element, path, "pretokenizers", ReadPreTokenizer));
            case var other:
                throw r.Error(path + ".type", $"unsupported pre-tokenizer '{other}' (supported: ByteLevel, Split, Digits, Sequence)");
        }
    }

    private static PostProcessor ReadPostProcessor(JsonFieldReader r, JsonElement element, string path, Func<int, bool> isKnownId)
    {
        r.Object(element, path);
        switch (r.RequiredString(element, path, "type"))
        {
            case "ByteLevel":
                var (prefix, trim, regex) = ReadByteLevelFlags(r, element, path);
                return new ByteLevelPostProcessor(prefix, trim, regex);
            case "TemplateProcessing":
                var specials = new List<TemplateSpecialToken>();
                var specialsElement = r.Object(r.Required(element, path, "special_tokens"), path + ".special_tokens");
                foreach (var entry in specialsElement.EnumerateObject())
                {
                    string entryPath = JsonFieldReader.Key(path + ".special_tokens", entry.Name);
                    r.Object(entry.Value, entryPath);
                    var ids = ReadList(r, entry.Value, entryPath, "ids", (rr, e, p) =>
                        rr.Int32(e, p) is var id && isKnownId(id) ? id : throw rr.Error(p, $"id {id} is not in the vocabulary"));
                    var tokens = ReadList(r, entry.Value, entryPath, "tokens", (rr, e, p) => rr.String(e, p));
                    specials.Add(new TemplateSpecialToken(r.RequiredString(entry.Value, entryPath, "id"), ids, tokens));
                }
                var single = ReadTemplate(r, element, path, "single", specials, allowB: false);
                var pair = ReadTemplate(r, element, path, "pair", specials, allowB: true);
                return new TemplatePostProcessor(single, pair, specials);
            case "Sequence":
                return new SequencePostProcessor(ReadList(r, element, path, "processors",
                    (rr, e, p) => ReadPostProcessor(rr, e, p, isKnownId)));
            case var other:
                throw r.Error(path + ".type", $"unsupported post-processor '{other}' (supported: ByteLevel, TemplateProcessing, Sequence)");
        }
    }

    private static List<TemplateItem> ReadTemplate(
        JsonFieldReader r, JsonElement element, string path, string name, List<TemplateSpecialToken> specials, bool allowB)
    {
        return ReadList(r, element, path, name, (rr, item, itemPath) =>
        {
            rr.Object(item, itemPath);
            bool isSpecial = JsonFieldReader.Optional(item, "SpecialToken").HasValue;
            string kind = isSpecial ? "SpecialToken" : "Sequence";
            var body = rr.Object(rr.Required(item, itemPath, kind), $"{itemPath}.{kind}");
            string bodyPath = $"{itemPath}.{kind}";
            string id = rr.RequiredString(body, bodyPath, "id");
            int typeId = JsonFieldReader.Optional(body, "type_id") is { } t ? rr.Int32(t, bodyPath + ".type_id") : 0;
            if (isSpecial && !specials.Any(s => s.Id == id))
                throw rr.Error(bodyPath + ".id", $"'{id}' is not listed in special_tokens");
            if (!isSpecial && id != "A" && !(allowB && id == "B"))
                throw rr.Error(bodyPath + ".id", $"unexpected sequence id '{id}'");
            return new TemplateItem(isSpecial, id, typeId);
        });
    }

    private static ByteLevelDecoder ReadDecoder(JsonFieldReader r, JsonElement element, string path)
    {
        r.Object(element, path);
        string type = r.RequiredString(element, path, "type");
        if (type != "ByteLevel")
            throw r.Error(path + ".type", $"unsupported decoder '{type}' (supported: ByteLevel)");
        var (prefix, trim, regex) = ReadByteLevelFlags(r, element, path);
        return new ByteLevelDecoder(prefix, trim, regex);
    }

    // Missing flags take Hugging Face's ByteLevel defaults (all true).
    private static (bool AddPrefixSpace, bool TrimOffsets, bool UseRegex) ReadByteLevelFlags(JsonFieldReader r, JsonElement e, string path) =>
        (r.OptionalBool(e, path, "add_prefix_space", true),
         r.OptionalBool(e, path, "trim_offsets", true),
         r.OptionalBool(e, path, "use_regex", true));

    private static List<T> ReadList<T>(
        JsonFieldReader r, JsonElement parent, string parentPath, string name, Func<JsonFieldReader, JsonElement, string, T> readItem)
    {
        string path = JsonFieldReader.Child(parentPath, name);
        var array = r.Array(r.Required(parent, parentPath, name), path);
        var result = new List<T>(array.GetArrayLength());
        int index = 0;
        foreach (var item in array.EnumerateArray()) result.Add(readItem(r, item, JsonFieldReader.Index(path, index++)));
        return result;
    }

    public static byte[] Write(BpeTokenizer tokenizer)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var t in tokenizer.AddedTokens.OrderBy(t => t.Id))
            {
                w.WriteStartObject();
                w.WriteNumber("id", t.Id);
                WriteAddedTokenFields(w, t);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WritePropertyName("normalizer");
            WriteNormalizer(w, tokenizer.Normalizer);
            w.WritePropertyName("pre_tokenizer");
            WritePreTokenizer(w, tokenizer.PreTokenizer);
            w.WritePropertyName("post_processor");
            WritePostProcessor(w, tokenizer.PostProcessor);
            w.WritePropertyName("decoder");
            if (tokenizer.Decoder is { } d) WriteByteLevel(w, d.AddPrefixSpace, d.TrimOffsets, d.UseRegex);
            else w.WriteNullValue();
            WriteModel(w, tokenizer);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The fields tokenizer.json's added_tokens and tokenizer_config.json's added_tokens_decoder share.</summary>
    internal static void WriteAddedTokenFields(Utf8JsonWriter w, AddedToken t)
    {
        w.WriteString("content", t.Content);
        w.WriteBoolean("single_word", t.SingleWord);
        w.WriteBoolean("lstrip", t.LStrip);
        w.WriteBoolean("rstrip", t.RStrip);
        w.WriteBoolean("normalized", t.Normalized);
        w.WriteBoolean("special", t.Special);
    }

    private static void WriteModel(Utf8JsonWriter w, BpeTokenizer tokenizer)
    {
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        if (tokenizer.UnknownToken is { } unk) w.WriteString("unk_token", unk);
        else w.WriteNull("unk_token");
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteBoolean("ignore_merges", tokenizer.IgnoreMerges);
        w.WriteStartObject("vocab");
        foreach (var (token, id) in tokenizer.Vocab.OrderBy(kv => kv.Value)) w.WriteNumber(token, id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (left, right) in tokenizer.Merges)
        {
            w.WriteStartArray();
            w.WriteStringValue(left);
            w.WriteStringValue(right);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteNormalizer(Utf8JsonWriter w, TextNormalizer? normalizer)
    {
        switch (normalizer)
        {
            case null:
                w.WriteNullValue();
                break;
            case NfcNormalizer:
                w.WriteStartObject();
                w.WriteString("type", "NFC");
                w.WriteEndObject();
                break;
            case SequenceNormalizer s:
                WriteSequence(w, "normalizers", s.Normalizers, WriteNormalizer);
                break;
            default:
                throw new NotSupportedException(normalizer.GetType().Name);
        }
    }

    private static void WritePreTokenizer(Utf8JsonWriter w, PreTokenizer pre)
    {
        switch (pre)
        {
            case ByteLevelPreTokenizer b:
                WriteByteLevel(w, b.AddPrefixSpace, b.TrimOffsets, b.UseRegex);
                break;
            case RegexSplitPreTokenizer s:
                w.WriteStartObject();
                w.WriteString("type", "Split");
                w.WriteStartObject("pattern");
                w.WriteString(s.PatternIsRegex ? "Regex" : "String", s.Pattern);
                w.WriteEndObject();
                w.WriteString("behavior", "Isolated");
                w.WriteBoolean("invert", false);
                w.WriteEndObject();
                break;
            case DigitsPreTokenizer d:
                w.WriteStartObject();
                w.WriteString("type", "Digits");
                w.WriteBoolean("individual_digits", d.IndividualDigits);
                w.WriteEndObject();
                break;
            case SequencePreTokenizer s:
                WriteSequence(w, "pretokenizers", s.PreTokenizers, WritePreTokenizer);
                break;
            default:
                throw new NotSupportedException(pre.GetType().Name);
        }
    }

    private static void WritePostProcessor(Utf8JsonWriter w, PostProcessor? post)
    {
        switch (post)
        {
            case null:
                w.WriteNullValue();
                break;
            case ByteLevelPostProcessor b:
                WriteByteLevel(w, b.AddPrefixSpace, b.TrimOffsets, b.UseRegex);
                break;
            case TemplatePostProcessor t:
                w.WriteStartObject();
                w.WriteString("type", "TemplateProcessing");
                WriteTemplate(w, "single", t.Single);
                WriteTemplate(w, "pair", t.Pair);
                w.WriteStartObject("special_tokens");
                foreach (var s in t.SpecialTokens)
                {
                    w.WriteStartObject(s.Id);
                    w.WriteString("id", s.Id);
                    w.WriteStartArray("ids");
                    foreach (int id in s.Ids) w.WriteNumberValue(id);
                    w.WriteEndArray();
                    w.WriteStartArray("tokens");
                    foreach (string token in s.Tokens) w.WriteStringValue(token);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            case SequencePostProcessor s:
                WriteSequence(w, "processors", s.Processors, WritePostProcessor);
                break;
            default:
                throw new NotSupportedException(post.GetType().Name);
        }
    }

    private static void WriteSequence<T>(Utf8JsonWriter w, string listName, IReadOnlyList<T> items, Action<Utf8JsonWriter, T> writeItem)
    {
        w.WriteStartObject();
        w.WriteString("type", "Sequence");
        w.WriteStartArray(listName);
        foreach (var item in items) writeItem(w, item);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTemplate(Utf8JsonWriter w, string name, IReadOnlyList<TemplateItem> items)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            w.WriteStartObject(item.IsSpecialToken ? "SpecialToken" : "Sequence");
            w.WriteString("id", item.Id);
            w.WriteNumber("type_id", item.TypeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteByteLevel(Utf8JsonWriter w, bool addPrefixSpace, bool trimOffsets, bool useRegex)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", useRegex);
        w.WriteEndObject();
    }
}
