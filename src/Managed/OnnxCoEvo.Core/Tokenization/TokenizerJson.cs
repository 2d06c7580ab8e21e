using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

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

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    /// <summary>
    /// Parses tokenizer.json or tokenizer_config.json: a syntax error names its line and byte (both 1-based). The first
    /// member read from <paramref name="root"/> checks that it is an object.
    /// </summary>
    internal static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string filePath, out LocatedJson root)
    {
        var source = new JsonSource(filePath) { Style = JsonStyle.Config };
        JsonDocument document = source.Parse(utf8, JsonSyntaxErrorFormat.LineCommaByte, DocumentOptions);
        root = source.Root(document);
        return document;
    }

    public static BpeTokenizer Read(ReadOnlyMemory<byte> utf8, string filePath, TokenizerConfig config)
    {
        using var doc = Parse(utf8, filePath, out LocatedJson root);
        var model = ReadModel(root.Required("model").ExpectKind(JsonValueKind.Object));
        var added = ReadAddedTokens(root);
        var normalizer = root.Optional("normalizer") is { } n ? ReadNormalizer(n) : null;
        var preTokenizer = ReadPreTokenizer(root.Required("pre_tokenizer"));
        if (!preTokenizer.HasByteLevel)
            throw root.FieldError("pre_tokenizer", "no ByteLevel step: only byte-level BPE tokenizers are supported");
        bool IsKnownId(int id) => model.GetToken(id) is not null || added.Any(a => a.Id == id);
        var postProcessor = root.Optional("post_processor") is { } p ? ReadPostProcessor(p, IsKnownId) : null;
        var decoder = root.Optional("decoder") is { } d ? ReadDecoder(d) : null;
        // truncation and padding configure batch encoding in Hugging Face; this toolkit pads and truncates itself.
        return new BpeTokenizer(model, added, normalizer, preTokenizer, postProcessor, decoder, config);
    }

    private static BpeModel ReadModel(LocatedJson model)
    {
        if (model.OptionalString("type") is { } type && type != "BPE")
            throw model.FieldError("type", $"unsupported model type '{type}': only BPE is supported");
        if (model.OptionalBoolean("byte_fallback") == true)
            throw model.FieldError("byte_fallback", "byte_fallback true is not supported (byte-level BPE needs no fallback)");
        if (model.Optional("dropout") is { } dropout && !(dropout.Kind == JsonValueKind.Number && dropout.Element.GetDouble() == 0))
            throw dropout.Error("BPE dropout is not supported (expected null)");
        foreach (string affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (model.OptionalString(affix) is { Length: > 0 } value)
                throw model.FieldError(affix, $"'{value}' is not supported (expected null)");
        }
        bool ignoreMerges = model.OptionalBoolean("ignore_merges") ?? false;

        // The two loops below run once per vocabulary entry and merge (128k for Llama 3): they read raw elements and
        // build an entry's path only to report it.
        LocatedJson vocabJson = model.Required("vocab").ExpectKind(JsonValueKind.Object);
        var vocab = new Dictionary<string, int>(vocabJson.Element.GetPropertyCount());
        var seenIds = new HashSet<int>();
        foreach (JsonProperty entry in vocabJson.Element.EnumerateObject())
        {
            LocatedJson Entry() => vocabJson.Member(entry);
            int id = entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetInt32(out int value)
                ? value
                : Entry().GetInt32(); // throws: not a 32-bit integer
            if (id < 0) throw Entry().Error($"negative id {id}");
            if (!vocab.TryAdd(entry.Name, id)) throw Entry().Error("token appears twice");
            if (!seenIds.Add(id)) throw Entry().Error($"id {id} is given to two tokens");
        }

        int? unknownId = null;
        if (model.Optional("unk_token") is { } unkJson)
        {
            string unk = unkJson.GetString();
            unknownId = vocab.TryGetValue(unk, out int u) ? u : throw unkJson.Error($"'{unk}' is not in the vocabulary");
        }

        LocatedJson mergesJson = model.Required("merges").ExpectKind(JsonValueKind.Array);
        var merges = new List<BpeMerge>(mergesJson.Element.GetArrayLength());
        int index = 0;
        foreach (JsonElement item in mergesJson.Element.EnumerateArray())
        {
            var (left, right) = ReadMergePair(mergesJson, index, item);
            merges.Add(new BpeMerge(
                LookUp(vocab, left, mergesJson, index),
                LookUp(vocab, right, mergesJson, index),
                LookUp(vocab, left + right, mergesJson, index)));
            index++;
        }
        return new BpeModel(vocab, merges, ignoreMerges, unknownId);
    }

    private static (string Left, string Right) ReadMergePair(LocatedJson merges, int index, JsonElement item)
    {
        if (item.ValueKind == JsonValueKind.String)
        {
            // Old form "a b": byte-level tokens never contain a space, so exactly one separates the two.
            string text = item.GetString()!;
            int space = text.IndexOf(' ');
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                throw merges.Item(index).Error($"merge \"{text}\" is not two tokens separated by one space");
            return (text[..space], text[(space + 1)..]);
        }
        if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2)
        {
            JsonElement left = item[0], right = item[1];
            if (left.ValueKind == JsonValueKind.String && right.ValueKind == JsonValueKind.String)
                return (left.GetString()!, right.GetString()!);
            LocatedJson pair = merges.Item(index);
            return (pair.Item(0).GetString(), pair.Item(1).GetString()); // throws at the item that is not a string
        }
        throw merges.Item(index).Error("a merge must be \"a b\" or [\"a\", \"b\"]");
    }

    private static int LookUp(Dictionary<string, int> vocab, string token, LocatedJson merges, int index) =>
        vocab.TryGetValue(token, out int id) ? id : throw merges.Item(index).Error($"merge names token '{token}', which is not in the vocabulary");

    private static List<AddedToken> ReadAddedTokens(LocatedJson root)
    {
        var result = new List<AddedToken>();
        if (root.Optional("added_tokens") is not { } array) return result;
        var ids = new HashSet<int>();
        foreach (LocatedJson item in array.Items())
        {
            item.ExpectKind(JsonValueKind.Object);
            LocatedJson idJson = item.Required("id");
            int id = idJson.GetInt32();
            if (id < 0) throw idJson.Error($"negative id {id}");
            if (!ids.Add(id)) throw idJson.Error($"id {id} is given to two added tokens");
            LocatedJson contentJson = item.Required("content");
            string content = contentJson.GetString();
            if (content.Length == 0) throw contentJson.Error("empty added token");
            bool special = item.OptionalBoolean("special") ?? false;
            result.Add(new AddedToken(
                id,
                content,
                special,
                item.OptionalBoolean("single_word") ?? false,
                item.OptionalBoolean("lstrip") ?? false,
                item.OptionalBoolean("rstrip") ?? false,
                item.OptionalBoolean("normalized") ?? !special));
        }
        return result;
    }

    private static TextNormalizer ReadNormalizer(LocatedJson element)
    {
        LocatedJson type = element.ExpectKind(JsonValueKind.Object).Required("type");
        return type.GetString() switch
        {
            "NFC" => new NfcNormalizer(),
            "Sequence" => new SequenceNormalizer(ReadList(element, "normalizers", ReadNormalizer)),
            var other => throw type.Error($"unsupported normalizer '{other}' (supported: NFC, Sequence)"),
        };
    }

    private static PreTokenizer ReadPreTokenizer(LocatedJson element)
    {
        LocatedJson type = element.ExpectKind(JsonValueKind.Object).Required("type");
        switch (type.GetString())
        {
            case "ByteLevel":
                var (prefix, trim, regex) = ReadByteLevelFlags(element);
                return new ByteLevelPreTokenizer(prefix, trim, regex);
            case "Split":
                LocatedJson behavior = element.Required("behavior");
                if (behavior.GetString() is var behaviorName && behaviorName != "Isolated")
                    throw behavior.Error($"unsupported split behavior '{behaviorName}' (supported: Isolated)");
                if (element.OptionalBoolean("invert") == true)
                    throw element.FieldError("invert", "invert true is not supported");
                LocatedJson pattern = element.Required("pattern").ExpectKind(JsonValueKind.Object);
                bool isRegex = pattern.Optional("Regex") is not null;
                LocatedJson text = pattern.Required(isRegex ? "Regex" : "String");
                string patternText = text.GetString();
                try
                {
                    return new RegexSplitPreTokenizer(patternText, isRegex);
                }
                catch (ArgumentException e)
                {
                    throw text.Error($"regex not accepted by .NET: {e.Message}", e);
                }
            case "Digits":
                return new DigitsPreTokenizer(element.OptionalBoolean("individual_digits") ?? false);
            case "Sequence":
                return new SequencePreTokenizer(ReadList(element, "pretokenizers", ReadPreTokenizer));
            case var other:
                throw type.Error($"unsupported pre-tokenizer '{other}' (supported: ByteLevel, Split, Digits, Sequence)");
        }
    }

    private static PostProcessor ReadPostProcessor(LocatedJson element, Func<int, bool> isKnownId)
    {
        LocatedJson type = element.ExpectKind(JsonValueKind.Object).Required("type");
        switch (type.GetString())
        {
            case "ByteLevel":
                var (prefix, trim, regex) = ReadByteLevelFlags(element);
                return new ByteLevelPostProcessor(prefix, trim, regex);
            case "TemplateProcessing":
                var specials = new List<TemplateSpecialToken>();
                foreach (var (_, entry) in element.Required("special_tokens").Members())
                {
                    entry.ExpectKind(JsonValueKind.Object);
                    var ids = ReadList(entry, "ids", idJson =>
                        idJson.GetInt32() is var id && isKnownId(id) ? id : throw idJson.Error($"id {id} is not in the vocabulary"));
                    var tokens = ReadList(entry, "tokens", token => token.GetString());
                    specials.Add(new TemplateSpecialToken(entry.RequiredString("id"), ids, tokens));
                }
                var single = ReadTemplate(element, "single", specials, allowB: false);
                var pair = ReadTemplate(element, "pair", specials, allowB: true);
                return new TemplatePostProcessor(single, pair, specials);
            case "Sequence":
                return new SequencePostProcessor(ReadList(element, "processors", p => ReadPostProcessor(p, isKnownId)));
            case var other:
                throw type.Error($"unsupported post-processor '{other}' (supported: ByteLevel, TemplateProcessing, Sequence)");
        }
    }

    private static List<TemplateItem> ReadTemplate(LocatedJson element, string name, List<TemplateSpecialToken> specials, bool allowB)
    {
        return ReadList(element, name, item =>
        {
            item.ExpectKind(JsonValueKind.Object);
            bool isSpecial = item.Optional("SpecialToken") is not null;
            LocatedJson body = item.Required(isSpecial ? "SpecialToken" : "Sequence").ExpectKind(JsonValueKind.Object);
            LocatedJson idJson = body.Required("id");
            string id = idJson.GetString();
            int typeId = body.OptionalInt32("type_id") ?? 0;
            if (isSpecial && !specials.Any(s => s.Id == id))
                throw idJson.Error($"'{id}' is not listed in special_tokens");
            if (!isSpecial && id != "A" && !(allowB && id == "B"))
                throw idJson.Error($"unexpected sequence id '{id}'");
            return new TemplateItem(isSpecial, id, typeId);
        });
    }

    private static ByteLevelDecoder ReadDecoder(LocatedJson element)
    {
        LocatedJson type = element.ExpectKind(JsonValueKind.Object).Required("type");
        if (type.GetString() is var name && name != "ByteLevel")
            throw type.Error($"unsupported decoder '{name}' (supported: ByteLevel)");
        var (prefix, trim, regex) = ReadByteLevelFlags(element);
        return new ByteLevelDecoder(prefix, trim, regex);
    }

    // Missing flags take Hugging Face's ByteLevel defaults (all true).
    private static (bool AddPrefixSpace, bool TrimOffsets, bool UseRegex) ReadByteLevelFlags(LocatedJson e) =>
        (e.OptionalBoolean("add_prefix_space") ?? true,
         e.OptionalBoolean("trim_offsets") ?? true,
         e.OptionalBoolean("use_regex") ?? true);

    private static List<T> ReadList<T>(LocatedJson parent, string name, Func<LocatedJson, T> readItem) =>
        parent.Required(name).Items().Select(readItem).ToList();

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
