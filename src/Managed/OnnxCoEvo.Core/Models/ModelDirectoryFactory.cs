using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Core.Models;

/// <summary>What <see cref="ModelDirectoryFactory.Create"/> should write.</summary>
public sealed record ModelDirectoryRequest
{
    public required string PresetName { get; init; }
    public required string OutputDirectory { get; init; }
    public ulong Seed { get; init; }

    /// <summary>Weight dtype; null takes the preset's (F32 for tiny, BF16 for real shapes).</summary>
    public TensorDType? DType { get; init; }

    /// <summary>Size of the project's own BPE tokenizer; for "tiny" it is also the model's vocabulary.</summary>
    public int TokenizerVocabSize { get; init; } = TinyTokenizerFactory.DefaultVocabSize;

    /// <summary>Texts the tokenizer also learns its merges from (an environment's episodes), besides the built-in corpus.</summary>
    public IReadOnlyList<string> TokenizerCorpus { get; init; } = [];

    public long MaxShardBytes { get; init; } = SafeTensorsCheckpointWriter.DefaultMaxShardBytes;

    /// <summary>Allow writing into a directory that already holds files (they are overwritten, others kept).</summary>
    public bool Overwrite { get; init; }

    public IProgress<long>? Progress { get; init; }
}

/// <summary>
/// Creates a complete Hugging Face-format model directory from a preset: the project's own BPE tokenizer
/// (tokenizer.json, tokenizer_config.json with the preset's chat template), config.json whose special token ids
/// are the tokenizer's, and seeded random weights. Used by `coevo model init` and by the demo.
/// </summary>
public static class ModelDirectoryFactory
{
    /// <summary>The preset with the vocabulary and special token ids of the tokenizer that goes with it.</summary>
    public static ModelPreset Resolve(ModelDirectoryRequest request) => Resolve(request, out _);

    private static ModelPreset Resolve(ModelDirectoryRequest request, out BpeTokenizer tokenizer)
    {
        ModelPreset preset = ModelPresets.Get(request.PresetName);
        tokenizer = TinyTokenizerFactory.Create(request.TokenizerVocabSize, StyleOf(preset), request.TokenizerCorpus);
        return WithTokenizer(preset, tokenizer);
    }

    /// <summary>Total bytes of weights the request will write (for progress bars).</summary>
    public static long WeightBytes(ModelDirectoryRequest request)
    {
        ModelPreset preset = Resolve(request);
        return ModelWeightsInitializer.TotalBytes(preset.Config, request.DType ?? preset.DefaultDType);
    }

    public static ModelPreset Create(ModelDirectoryRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string dir = Path.GetFullPath(request.OutputDirectory);
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !request.Overwrite)
            throw new IOException($"{dir}: directory is not empty; choose another --out or pass --force to overwrite the model files in it");
        Directory.CreateDirectory(dir);

        ModelPreset preset = Resolve(request, out BpeTokenizer tokenizer);
        tokenizer.Save(dir);
        ModelWeightsInitializer.Write(dir, preset.Config, new WeightsInitOptions
        {
            Seed = request.Seed,
            DType = request.DType ?? preset.DefaultDType,
            MaxShardBytes = request.MaxShardBytes,
            Progress = request.Progress,
        }, cancellationToken);
        return preset;
    }

    private static TinyTokenizerStyle StyleOf(ModelPreset preset) => preset.ChatTemplate switch
    {
        "chatml" => TinyTokenizerStyle.ChatMl,
        "llama3" => TinyTokenizerStyle.Llama3,
        _ => TinyTokenizerStyle.Plain,
    };

    /// <summary>
    /// The tiny preset's vocabulary is the tokenizer's; real shapes keep their published vocabulary (the embedding
    /// has the real size, the tokenizer uses its first ids). Either way the token ids in config.json are the tokenizer's.
    /// </summary>
    private static ModelPreset WithTokenizer(ModelPreset preset, BpeTokenizer tokenizer)
    {
        if (preset.Name != "tiny" && tokenizer.VocabSize > preset.Config.VocabSize)
            throw new InvalidOperationException($"preset '{preset.Name}': tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary is {preset.Config.VocabSize}");
        int vocab = preset.Name == "tiny" ? tokenizer.VocabSize : preset.Config.VocabSize;
        ModelConfig config = preset.Config with
        {
            VocabSize = vocab,
            BosTokenId = tokenizer.BosTokenId,
            EosTokenIds = tokenizer.EosTokenId is { } eos ? [eos] : [],
        };
        config.Validate();
        return preset with { Config = config };
    }
}
