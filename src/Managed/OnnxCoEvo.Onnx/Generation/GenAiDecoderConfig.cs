using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Core.Json;
using OnnxCoEvo.Onnx.Decoder;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// What the generator reads from ONNX Runtime GenAI's genai_config.json (onnx-interop.md §4.1; the builder writes it as
/// <see cref="Decoder.GenAiConfig"/>): the decoder file, its shape, its input/output names (GenAI's defaults where
/// absent) and whether past and present KV share one buffer. Reads any GenAI folder, not only ours.
/// </summary>
public sealed record GenAiDecoderConfig
{
    public const string FileName = Decoder.GenAiConfig.FileName;

    public required string ModelType { get; init; }
    public required string DecoderFile { get; init; }
    public required int HeadSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int VocabSize { get; init; }
    public required int ContextLength { get; init; }

    /// <summary>search.max_length, or the context length when absent or 0.</summary>
    public required int MaxLength { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? BosTokenId { get; init; }

    public string InputIdsName { get; init; } = DecoderIo.InputIds;
    public string AttentionMaskName { get; init; } = DecoderIo.AttentionMask;

    /// <summary>Null when the decoder has no position_ids input (GQA with fused rotary derives positions itself).</summary>
    public string? PositionIdsName { get; init; }

    public string PastKeyNames { get; init; } = DecoderIo.PastKeyPattern;
    public string PastValueNames { get; init; } = DecoderIo.PastValuePattern;
    public string LogitsName { get; init; } = DecoderIo.Logits;
    public string PresentKeyNames { get; init; } = DecoderIo.PresentKeyPattern;
    public string PresentValueNames { get; init; } = DecoderIo.PresentValuePattern;

    /// <summary>search.past_present_share_buffer: past and present are one preallocated buffer (GroupQueryAttention).</summary>
    public bool PastPresentShareBuffer { get; init; }

    public static string LayerName(string pattern, int layer) => pattern.Replace("%d", layer.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Reads DIR/genai_config.json (or the file itself); faults are <see cref="OnnxCoEvo.Core.DataFormatException"/>s naming the field.</summary>
    public static GenAiDecoderConfig Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"no {FileName} at '{path}' (build one with `coevo onnx build`)", file);
        return Parse(File.ReadAllBytes(file), file);
    }

    public static GenAiDecoderConfig Parse(ReadOnlyMemory<byte> utf8Json, string filePath = FileName)
    {
        var source = new JsonSource(filePath) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(utf8Json, JsonSyntaxErrorFormat.FileByte);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);
        LocatedJson model = root.Required("model").ExpectKind(JsonValueKind.Object);
        LocatedJson decoder = model.Required("decoder").ExpectKind(JsonValueKind.Object);
        LocatedJson? inputs = decoder.OptionalObject("inputs");
        LocatedJson? outputs = decoder.OptionalObject("outputs");
        LocatedJson? search = root.OptionalObject("search");

        int Positive(LocatedJson owner, string name)
        {
            int value = owner.RequiredInt32(name);
            return value > 0 ? value : throw owner.FieldError(name, $"is {value}; must be > 0");
        }

        int context = Positive(model, "context_length");
        int maxLength = search?.OptionalInt32("max_length") ?? 0;
        if (maxLength < 0) throw search!.Value.FieldError("max_length", $"is {maxLength}; must be >= 0");
        var config = new GenAiDecoderConfig
        {
            ModelType = model.RequiredString("type"),
            DecoderFile = decoder.RequiredString("filename"),
            HeadSize = Positive(decoder, "head_size"),
            HiddenSize = Positive(decoder, "hidden_size"),
            NumAttentionHeads = Positive(decoder, "num_attention_heads"),
            NumKeyValueHeads = Positive(decoder, "num_key_value_heads"),
            NumHiddenLayers = Positive(decoder, "num_hidden_layers"),
            VocabSize = Positive(model, "vocab_size"),
            ContextLength = context,
            MaxLength = maxLength == 0 ? context : Math.Min(maxLength, context),
            EosTokenIds = model.Has("eos_token_id") ? model.Int32OrList("eos_token_id") : [],
            BosTokenId = model.OptionalInt32("bos_token_id"),
            InputIdsName = inputs?.OptionalString("input_ids") ?? DecoderIo.InputIds,
            AttentionMaskName = inputs?.OptionalString("attention_mask") ?? DecoderIo.AttentionMask,
            PositionIdsName = inputs?.OptionalString("position_ids"),
            PastKeyNames = inputs?.OptionalString("past_key_names") ?? DecoderIo.PastKeyPattern,
            PastValueNames = inputs?.OptionalString("past_value_names") ?? DecoderIo.PastValuePattern,
            LogitsName = outputs?.OptionalString("logits") ?? DecoderIo.Logits,
            PresentKeyNames = outputs?.OptionalString("present_key_names") ?? DecoderIo.PresentKeyPattern,
            PresentValueNames = outputs?.OptionalString("present_value_names") ?? DecoderIo.PresentValuePattern,
            PastPresentShareBuffer = search?.OptionalBoolean("past_present_share_buffer") ?? false,
        };
        if (config.NumAttentionHeads % config.NumKeyValueHeads != 0)
            throw decoder.FieldError("num_key_value_heads", $"{config.NumKeyValueHeads} does not divide num_attention_heads {config.NumAttentionHeads}");
        foreach ((LocatedJson? owner, string field, string pattern) in new[]
        {
            (inputs, "past_key_names", config.PastKeyNames), (inputs, "past_value_names", config.PastValueNames),
            (outputs, "present_key_names", config.PresentKeyNames), (outputs, "present_value_names", config.PresentValueNames),
        })
        {
            if (!pattern.Contains("%d", StringComparison.Ordinal))
                throw (owner ?? decoder).FieldError(field, $"\"{pattern}\" has no %d for the layer index");
        }
        return config;
    }
}
