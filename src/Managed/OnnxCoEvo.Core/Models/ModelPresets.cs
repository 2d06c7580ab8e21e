using System.Diagnostics.CodeAnalysis;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Core.Models;

/// <summary>A named model shape with the chat template and weight dtype that suit it.</summary>
public sealed record ModelPreset(string Name, string Description, ModelConfig Config, string ChatTemplate, TensorDType DefaultDType);

/// <summary>
/// Named shapes: "tiny" trains on two CPU cores in minutes; the others have the shapes of real released models, so
/// random-init copies exercise the same code paths and sizes as the real weights.
/// </summary>
public static class ModelPresets
{
    public const int DefaultTinyVocabSize = 1024;

    public static IReadOnlyList<string> Names { get; } = ["tiny", "smollm2-135m", "qwen2.5-0.5b", "llama-3.2-1b", "llama-3.1-8b"];

    /// <summary>
    /// The preset of that name (case-insensitive). <paramref name="vocabSize"/> replaces the preset's vocabulary size —
    /// for "tiny" it comes from the tokenizer trained alongside the model; its token ids are left for the caller to set.
    /// </summary>
    public static ModelPreset Get(string name, int? vocabSize = null)
    {
        ModelPreset preset = Create(name.Trim().ToLowerInvariant());
        if (vocabSize is { } vocab)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1, nameof(vocabSize));
            preset = preset with { Config = preset.Config with { VocabSize = vocab } };
        }
        preset.Config.Validate();
        return preset;
    }

    public static bool TryGet(string name, [NotNullWhen(true)] out ModelPreset? preset)
    {
        preset = Names.Contains(name.Trim().ToLowerInvariant()) ? Get(name) : null;
        return preset is not null;
    }

    private static ModelPreset Create(string name) => name switch
    {
        "tiny" => new(name, "llama, 0.9M parameters with a 1024 vocabulary; trains on CPU in minutes", new ModelConfig
        {
            ModelType = ModelConfig.Llama,
            HiddenSize = 128,
            IntermediateSize = 384,
            NumHiddenLayers = 4,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            HeadDim = 32,
            VocabSize = DefaultTinyVocabSize,
            MaxPositionEmbeddings = 2048,
            RopeTheta = 10000,
            RmsNormEps = 1e-5,
            TieWordEmbeddings = true,
            TorchDType = "float32",
        }, "plain", TensorDType.F32),

        "smollm2-135m" => new(name, "SmolLM2-135M shape (llama)", new ModelConfig
        {
            ModelType = ModelConfig.Llama,
            HiddenSize = 576,
            IntermediateSize = 1536,
            NumHiddenLayers = 30,
            NumAttentionHeads = 9,
            NumKeyValueHeads = 3,
            HeadDim = 64,
            VocabSize = 49152,
            MaxPositionEmbeddings = 8192,
            RopeTheta = 100000,
            RmsNormEps = 1e-5,
            TieWordEmbeddings = true,
            BosTokenId = 1,
            EosTokenIds = [2],
            TorchDType = "bfloat16",
        }, "chatml", TensorDType.BF16),

        "qwen2.5-0.5b" => new(name, "Qwen2.5-0.5B shape (qwen2, q/k/v biases)", new ModelConfig
        {
            ModelType = ModelConfig.Qwen2,
            HiddenSize = 896,
            IntermediateSize = 4864,
            NumHiddenLayers = 24,
            NumAttentionHeads = 14,
            NumKeyValueHeads = 2,
            HeadDim = 64,
            VocabSize = 151936,
            MaxPositionEmbeddings = 32768,
            RopeTheta = 1_000_000,
            RmsNormEps = 1e-6,
            TieWordEmbeddings = true,
            BosTokenId = 151643,
            EosTokenIds = [151645],
            TorchDType = "bfloat16",
        }, "chatml", TensorDType.BF16),

        "llama-3.2-1b" => new(name, "Llama-3.2-1B shape (llama, llama3 RoPE scaling)", new ModelConfig
        {
            ModelType = ModelConfig.Llama,
            HiddenSize = 2048,
            IntermediateSize = 8192,
            NumHiddenLayers = 16,
            NumAttentionHeads = 32,
            NumKeyValueHeads = 8,
            HeadDim = 64,
            VocabSize = 128256,
            MaxPositionEmbeddings = 131072,
            RopeTheta = 500000,
            RopeScaling = new RopeScaling(Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192),
            RmsNormEps = 1e-5,
            TieWordEmbeddings = true,
            BosTokenId = 128000,
            EosTokenIds = [128001, 128008, 128009],
            TorchDType = "bfloat16",
        }, "llama3", TensorDType.BF16),

        "llama-3.1-8b" => new(name, "Llama-3.1-8B shape (llama, llama3 RoPE scaling, untied lm_head)", new ModelConfig
        {
            ModelType = ModelConfig.Llama,
            HiddenSize = 4096,
            IntermediateSize = 14336,
            NumHiddenLayers = 32,
            NumAttentionHeads = 32,
            NumKeyValueHeads = 8,
            HeadDim = 128,
            VocabSize = 128256,
            MaxPositionEmbeddings = 131072,
            RopeTheta = 500000,
            RopeScaling = new RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192),
            RmsNormEps = 1e-5,
            TieWordEmbeddings = false,
            BosTokenId = 128000,
            EosTokenIds = [128001, 128008, 128009],
            TorchDType = "bfloat16",
        }, "llama3", TensorDType.BF16),

        _ => throw new ArgumentException($"unknown model preset '{name}'; valid presets: {string.Join(", ", Names)}", nameof(name)),
    };
}
