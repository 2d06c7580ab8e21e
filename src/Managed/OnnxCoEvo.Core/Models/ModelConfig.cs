using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Models;

/// <summary>Llama 3 style RoPE frequency scaling ("rope_type": "llama3"), the only scaling this toolkit implements.</summary>
public sealed record RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    public const string Llama3 = "llama3";

    public string RopeType => Llama3;
}

/// <summary>
/// The shape of a Llama-family decoder as Hugging Face's config.json describes it (model_type llama, mistral, qwen2).
/// <see cref="TensorLayout"/> is the contract for tensor names and shapes that the trainer and ONNX builder rely on.
/// </summary>
public sealed record ModelConfig
{
    public const string Llama = "llama";
    public const string Mistral = "mistral";
    public const string Qwen2 = "qwen2";
    public const string FileName = "config.json";

    public static IReadOnlyList<string> SupportedModelTypes { get; } = [Llama, Mistral, Qwen2];

    public required string ModelType { get; init; }

    /// <summary>As read from config.json (informational); <see cref="Save"/> always writes <see cref="ArchitectureClass"/>.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int NumHiddenLayers { get; init; }

    public required int NumAttentionHeads { get; init; }

    public required int NumKeyValueHeads { get; init; }

    public required int HeadDim { get; init; }

    public required int VocabSize { get; init; }

    public required int MaxPositionEmbeddings { get; init; }

    public double RopeTheta { get; init; } = 10000;

    public RopeScaling? RopeScaling { get; init; }

    public double RmsNormEps { get; init; } = 1e-6;

    public bool TieWordEmbeddings { get; init; }

    /// <summary>Llama's "attention_bias": biases on q, k, v and o projections. (Qwen2 always has q/k/v biases; see <see cref="HasQkvBias"/>.)</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Mistral's sliding attention window in tokens; null means full attention.</summary>
    public int? SlidingWindow { get; init; }

    public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence ids (config.json may hold one id or a list).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>"torch_dtype" ("float32", "bfloat16", ...), or null when not given.</summary>
    public string? TorchDType { get; init; }

    /// <summary>Standard deviation of the normal init of linear and embedding weights.</summary>
    public double InitializerRange { get; init; } = 0.02;

    public string ArchitectureClass => ModelType switch
    {
        Llama => "LlamaForCausalLM",
        Mistral => "MistralForCausalLM",
        Qwen2 => "Qwen2ForCausalLM",
        _ => throw new InvalidOperationException($"unsupported model_type '{ModelType}'"),
    };

    public bool HasQkvBias => ModelType == Qwen2 || (ModelType == Llama && AttentionBias);

    public bool HasOutputBias => ModelType == Llama && AttentionBias;

    /// <summary>Width of the query projection output: heads x head_dim.</summary>
    public int QueryDim => NumAttentionHeads * HeadDim;

    /// <summary>Width of each of the key and value projection outputs: kv heads x head_dim.</summary>
    public int KeyValueDim => NumKeyValueHeads * HeadDim;

    /// <summary>
    /// Every weight tensor with its Hugging Face name and [out, in] shape, in the state-dict order transformers uses:
    /// embeddings, then per layer q/k/v/o (+ biases), gate/up/down, the two norms; the final norm; lm_head when untied.
    /// </summary>
    public IReadOnlyList<(string Name, long[] Shape)> TensorLayout()
    {
        long hidden = HiddenSize, ffn = IntermediateSize, q = QueryDim, kv = KeyValueDim;
        var layout = new List<(string, long[])>(3 + NumHiddenLayers * 13) { ("model.embed_tokens.weight", [VocabSize, hidden]) };
        for (int i = 0; i < NumHiddenLayers; i++)
        {
            string attention = $"model.layers.{i}.self_attn.";
            AddLinear(layout, attention + "q_proj", q, hidden, HasQkvBias);
            AddLinear(layout, attention + "k_proj", kv, hidden, HasQkvBias);
            AddLinear(layout, attention + "v_proj", kv, hidden, HasQkvBias);
            AddLinear(layout, attention + "o_proj", hidden, q, HasOutputBias);
            string mlp = $"model.layers.{i}.mlp.";
            AddLinear(layout, mlp + "gate_proj", ffn, hidden, bias: false);
            AddLinear(layout, mlp + "up_proj", ffn, hidden, bias: false);
            AddLinear(layout, mlp + "down_proj", hidden, ffn, bias: false);
            layout.Add(($"model.layers.{i}.input_layernorm.weight", [hidden]));
            layout.Add(($"model.layers.{i}.post_attention_layernorm.weight", [hidden]));
        }
        layout.Add(("model.norm.weight", [hidden]));
        if (!TieWordEmbeddings)
            layout.Add(("lm_head.weight", [VocabSize, hidden]));
        return layout;
    }

    private static void AddLinear(List<(string, long[])> layout, string module, long outFeatures, long inFeatures, bool bias)
    {
        layout.Add((module + ".weight", [outFeatures, inFeatures]));
        if (bias)
            layout.Add((module + ".bias", [outFeatures]));
    }

    /// <summary>Parameters of the model (a tied lm_head counts once), summed over <see cref="TensorLayout"/>.</summary>
    public long ParameterCount => TensorLayout().Sum(t => t.Shape.Aggregate(1L, (product, dim) => checked(product * dim)));

    /// <summary>Throws <see cref="ArgumentException"/> naming the config.json field when the shape is inconsistent.</summary>
    public void Validate()
    {
        if (FindProblem() is (string field, string problem))
            throw new ArgumentException($"{FileName} field {field}: {problem}");
    }

    private (string Field, string Problem)? FindProblem()
    {
        if (!SupportedModelTypes.Contains(ModelType))
            return ("model_type", $"unsupported model_type '{ModelType}'; supported: {string.Join(", ", SupportedModelTypes)}");
        foreach ((string field, int value) in new[]
        {
            ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize), ("num_hidden_layers", NumHiddenLayers),
            ("num_attention_heads", NumAttentionHeads), ("num_key_value_heads", NumKeyValueHeads), ("head_dim", HeadDim),
            ("vocab_size", VocabSize), ("max_position_embeddings", MaxPositionEmbeddings),
        })
        {
            if (value <= 0)
                return (field, $"is {value}; must be positive");
        }
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            return ("num_key_value_heads", $"{NumAttentionHeads} attention heads do not divide into {NumKeyValueHeads} key/value heads");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta))
            return ("rope_theta", $"is {RopeTheta}; must be positive");
        if (!(RmsNormEps > 0) || double.IsInfinity(RmsNormEps))
            return ("rms_norm_eps", $"is {RmsNormEps}; must be positive");
        if (!(InitializerRange >= 0) || double.IsInfinity(InitializerRange))
            return ("initializer_range", $"is {InitializerRange}; must be non-negative");
        if (RopeScaling is { } scaling)
        {
            if (!(scaling.Factor >= 1))
                return ("rope_scaling.factor", $"is {scaling.Factor}; must be at least 1");
            if (!(scaling.LowFreqFactor > 0) || !(scaling.HighFreqFactor > scaling.LowFreqFactor))
                return ("rope_scaling.high_freq_factor", $"low_freq_factor {scaling.LowFreqFactor} and high_freq_factor {scaling.HighFreqFactor} must satisfy 0 < low < high");
            if (scaling.OriginalMaxPositionEmbeddings <= 0)
                return ("rope_scaling.original_max_position_embeddings", $"is {scaling.OriginalMaxPositionEmbeddings}; must be positive");
        }
        if (AttentionBias && ModelType != Llama)
            return ("attention_bias", $"is only configurable for llama; {ModelType} fixes its biases");
        if (SlidingWindow is { } window && (ModelType != Mistral || window <= 0))
            return ("sliding_window", ModelType != Mistral ? "is only supported for mistral" : $"is {window}; must be positive");
        if (BosTokenId < 0 || EosTokenIds.Any(id => id < 0))
            return (BosTokenId < 0 ? "bos_token_id" : "eos_token_id", "token ids must be non-negative");
        return null;
    }

    /// <summary>Reads config.json from a file path or from a model directory.</summary>
    public static ModelConfig Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        return Parse(File.ReadAllBytes(file), file);
    }

    public static ModelConfig Parse(string json, string filePath = FileName) => Parse(Encoding.UTF8.GetBytes(json), filePath);

    public static ModelConfig Parse(ReadOnlyMemory<byte> utf8Json, string filePath = FileName)
    {
        var source = new JsonSource(filePath) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(utf8Json, JsonSyntaxErrorFormat.FileByte);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);

        string modelType = root.RequiredString("model_type");
        if (!SupportedModelTypes.Contains(modelType))
            throw root.FieldError("model_type", $"unsupported model_type '{modelType}'; supported: {string.Join(", ", SupportedModelTypes)}");
        if ((root.OptionalString("hidden_act") ?? "silu") is var activation and not "silu")
            throw root.FieldError("hidden_act", $"'{activation}' is not supported; Llama-family models use silu (SwiGLU)");
        if (root.OptionalBoolean("mlp_bias") == true)
            throw root.FieldError("mlp_bias", "MLP biases are not supported");
        if (modelType == Qwen2 && root.OptionalBoolean("use_sliding_window") == true)
            throw root.FieldError("use_sliding_window", "Qwen2 sliding-window attention is not supported");

        int hidden = root.RequiredInt32("hidden_size");
        int heads = root.RequiredInt32("num_attention_heads");
        int? headDim = root.OptionalInt32("head_dim");
        if (headDim is null && heads > 0 && hidden % heads != 0)
            throw root.FieldError("head_dim", $"missing, and hidden_size {hidden} is not divisible by num_attention_heads {heads}");

        // transformers v5 moves rope_theta and the scaling parameters into "rope_parameters".
        LocatedJson? ropeParameters = root.OptionalObject("rope_parameters");
        var config = new ModelConfig
        {
            ModelType = modelType,
            Architectures = root.StringList("architectures"),
            HiddenSize = hidden,
            IntermediateSize = root.RequiredInt32("intermediate_size"),
            NumHiddenLayers = root.RequiredInt32("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = root.OptionalInt32("num_key_value_heads") ?? heads,
            HeadDim = headDim ?? (heads > 0 ? hidden / heads : 0),
            VocabSize = root.RequiredInt32("vocab_size"),
            MaxPositionEmbeddings = root.RequiredInt32("max_position_embeddings"),
            RopeTheta = root.OptionalDouble("rope_theta") ?? ropeParameters?.OptionalDouble("rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(root.OptionalObject("rope_scaling") ?? ropeParameters),
            RmsNormEps = root.OptionalDouble("rms_norm_eps") ?? 1e-6,
            TieWordEmbeddings = root.OptionalBoolean("tie_word_embeddings") ?? false,
            AttentionBias = modelType == Llama && (root.OptionalBoolean("attention_bias") ?? false),
            SlidingWindow = modelType == Mistral ? root.OptionalInt32("sliding_window") : null,
            BosTokenId = root.OptionalInt32("bos_token_id"),
            EosTokenIds = root.Int32OrList("eos_token_id"),
            TorchDType = root.OptionalString("torch_dtype") ?? root.OptionalString("dtype"),
            InitializerRange = root.OptionalDouble("initializer_range") ?? 0.02,
        };
        if (config.FindProblem() is (string field, string problem))
            throw source.Error("$." + field, problem); // field may be dotted: "rope_scaling.factor"
        return config;
    }

    private static RopeScaling? ParseRopeScaling(LocatedJson? scaling)
    {
        if (scaling is not { } rope)
            return null;
        string typeKey = rope.Optional("rope_type") is not null ? "rope_type" : "type";
        string? type = rope.OptionalString(typeKey);
        if (type is null)
        {
            return rope.Optional("factor") is null
                ? null // e.g. rope_parameters holding only rope_theta
                : throw rope.FieldError("rope_type", "missing: a RoPE scaling with a factor must name its rope_type");
        }
        switch (type)
        {
            case "default":
                return null;
            case RopeScaling.Llama3:
                return new RopeScaling(
                    rope.RequiredDouble("factor"),
                    rope.RequiredDouble("low_freq_factor"),
                    rope.RequiredDouble("high_freq_factor"),
                    rope.RequiredInt32("original_max_position_embeddings"));
            default:
                throw rope.FieldError(typeKey, $"RoPE scaling type '{type}' is not supported; supported: default, {RopeScaling.Llama3}");
        }
    }

    /// <summary>Writes config.json (to a file path, or into a directory) as transformers writes it for this architecture.</summary>
    public void Save(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        AtomicFile.WriteAllText(file, ToJson());
    }

    /// <summary>The config.json text: keys sorted as transformers sorts them, with the fields this architecture's config class takes.</summary>
    public string ToJson()
    {
        Validate();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue(ArchitectureClass);
            json.WriteEndArray();
            if (ModelType == Llama)
                json.WriteBoolean("attention_bias", AttentionBias);
            WriteFloat(json, "attention_dropout", 0.0);
            WriteNullableInt(json, "bos_token_id", BosTokenId);
            if (EosTokenIds.Count == 1)
            {
                json.WriteNumber("eos_token_id", EosTokenIds[0]);
            }
            else if (EosTokenIds.Count == 0)
            {
                json.WriteNull("eos_token_id");
            }
            else
            {
                json.WriteStartArray("eos_token_id");
                foreach (int id in EosTokenIds)
                    json.WriteNumberValue(id);
                json.WriteEndArray();
            }
            // Qwen2's config class derives head_dim; write it only where it differs from the derived value.
            if (ModelType != Qwen2 || HeadDim * NumAttentionHeads != HiddenSize)
                json.WriteNumber("head_dim", HeadDim);
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("hidden_size", HiddenSize);
            WriteFloat(json, "initializer_range", InitializerRange);
            json.WriteNumber("intermediate_size", IntermediateSize);
            json.WriteNumber("max_position_embeddings", MaxPositionEmbeddings);
            if (ModelType == Llama)
                json.WriteBoolean("mlp_bias", false);
            json.WriteString("model_type", ModelType);
            json.WriteNumber("num_attention_heads", NumAttentionHeads);
            json.WriteNumber("num_hidden_layers", NumHiddenLayers);
            json.WriteNumber("num_key_value_heads", NumKeyValueHeads);
            WriteFloat(json, "rms_norm_eps", RmsNormEps);
            if (RopeScaling is { } scaling)
            {
                json.WriteStartObject("rope_scaling");
                WriteFloat(json, "factor", scaling.Factor);
                WriteFloat(json, "high_freq_factor", scaling.HighFreqFactor);
                WriteFloat(json, "low_freq_factor", scaling.LowFreqFactor);
                json.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings);
                json.WriteString("rope_type", scaling.RopeType);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("rope_scaling");
            }
            WriteFloat(json, "rope_theta", RopeTheta);
            if (ModelType == Mistral)
                WriteNullableInt(json, "sliding_window", SlidingWindow);
            json.WriteBoolean("tie_word_embeddings", TieWordEmbeddings);
            if (TorchDType is not null)
                json.WriteString("torch_dtype", TorchDType);
            json.WriteBoolean("use_cache", true);
            if (ModelType == Qwen2)
                json.WriteBoolean("use_sliding_window", false);
            json.WriteNumber("vocab_size", VocabSize);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>
    /// Writes a float the way Python's json module does (32.0, 1e-05), so transformers' type checks — which warn when
    /// e.g. rope_scaling.factor is an int — see floats.
    /// </summary>
    private static void WriteFloat(Utf8JsonWriter json, string key, double value)
    {
        json.WritePropertyName(key);
        json.WriteRawValue(double.IsInteger(value) && Math.Abs(value) < 1e16
            ? value.ToString("F1", CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e'));
    }

    private static void WriteNullableInt(Utf8JsonWriter json, string key, int? value)
    {
        if (value is { } number)
            json.WriteNumber(key, number);
        else
            json.WriteNull(key);
    }

    public bool Equals(ModelConfig? other) =>
        other is not null
        && ModelType == other.ModelType && Architectures.SequenceEqual(other.Architectures)
        && HiddenSize == other.HiddenSize && IntermediateSize == other.IntermediateSize && NumHiddenLayers == other.NumHiddenLayers
        && NumAttentionHeads == other.NumAttentionHeads && NumKeyValueHeads == other.NumKeyValueHeads && HeadDim == other.HeadDim
        && VocabSize == other.VocabSize && MaxPositionEmbeddings == other.MaxPositionEmbeddings
        && RopeTheta.Equals(other.RopeTheta) && Equals(RopeScaling, other.RopeScaling) && RmsNormEps.Equals(other.RmsNormEps)
        && TieWordEmbeddings == other.TieWordEmbeddings && AttentionBias == other.AttentionBias && SlidingWindow == other.SlidingWindow
        && BosTokenId == other.BosTokenId && EosTokenIds.SequenceEqual(other.EosTokenIds)
        && TorchDType == other.TorchDType && InitializerRange.Equals(other.InitializerRange);

    public override int GetHashCode() => HashCode.Combine(ModelType, HiddenSize, NumHiddenLayers, NumAttentionHeads, VocabSize);
}
