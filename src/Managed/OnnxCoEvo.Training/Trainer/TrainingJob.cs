using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Peft;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>What `coevo train sft|dpo` (and every recipe's training stage) asks for.</summary>
public sealed record TrainingJobSpec
{
    public required string ModelDirectory { get; init; }
    public required string DataPath { get; init; }
    public string? DataFormat { get; init; }
    public required string OutputDirectory { get; init; }

    /// <summary>The adapter to train; null trains every weight (full fine-tune).</summary>
    public LoraConfig? Lora { get; init; } = new();

    /// <summary>A PEFT folder to start the adapter from (its LoRA config wins over <see cref="Lora"/>).</summary>
    public string? InitialAdapter { get; init; }

    public required TrainingOptions Options { get; init; }

    /// <summary>Longest sample in tokens; default and upper bound: the model's max_position_embeddings.</summary>
    public int? MaxLength { get; init; }

    public OverlengthPolicy Overlength { get; init; } = OverlengthPolicy.Error;

    /// <summary>SFT on trajectories: keep only those meeting the success rule (reward 1.0), EEF's "SFT POS".</summary>
    public bool SuccessesOnly { get; init; }

    /// <summary>SFT: the assistant turns (default) or every token of the text.</summary>
    public SftTokens TrainOn { get; init; } = SftTokens.Assistant;

    /// <summary>Chat template name; default detected from tokenizer_config.json.</summary>
    public string? Template { get; init; }

    /// <summary>Seeds the adapter's initial A matrices.</summary>
    public ulong InitSeed { get; init; }
}

/// <summary>A finished (or stopped) job: where things are and what happened.</summary>
public sealed record TrainingJobResult(DatasetReport Dataset, TrainingSummary Summary, string? FinalOutput);

/// <summary>
/// Composes one training job: model directory -> tokenizer and chat template -> dataset -> CPU backend -> <see cref="TrainingRun"/>
/// -> final export (a PEFT adapter folder in out/adapter, or with full fine-tuning an HF model folder in out/model).
/// The run directory also gets train_config.json and train_summary.json.
/// </summary>
public static class TrainingJob
{
    public const string AdapterFolder = "adapter";
    public const string ModelFolder = "model";

    public static TrainingJobResult Run(TrainingJobSpec spec, Action<DatasetReport>? onDataset = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken stop = default)
    {
        spec.Options.Validate();
        spec.Lora?.Validate();
        string modelDirectory = Path.GetFullPath(spec.ModelDirectory);
        ModelConfig config = ModelConfig.Load(Path.Combine(modelDirectory, ModelConfig.FileName));
        BpeTokenizer tokenizer = BpeTokenizer.Load(modelDirectory);
        IChatTemplate template = spec.Template is null ? ChatTemplates.Detect(tokenizer) : ChatTemplates.Create(spec.Template, tokenizer);
        int maxLength = spec.MaxLength ?? config.MaxPositionEmbeddings;
        if (maxLength < 2 || maxLength > config.MaxPositionEmbeddings)
            throw new ArgumentException($"--max-length must be in [2, {config.MaxPositionEmbeddings}] (the model's max_position_embeddings), is {maxLength}");

        var encoder = new ConversationEncoder(template);
        DatasetReport report;
        IReadOnlyList<SftExample> sft = [];
        IReadOnlyList<DpoExample> dpo = [];
        if (spec.Options.Objective == TrainingObjective.Sft)
            (sft, report) = TrainingDatasets.ReadSft(spec.DataPath, spec.DataFormat, encoder, maxLength, spec.Overlength, spec.SuccessesOnly, spec.TrainOn);
        else
            (dpo, report) = TrainingDatasets.ReadDpo(spec.DataPath, spec.DataFormat, encoder, maxLength, spec.Overlength);
        onDataset?.Invoke(report);

        LoraConfig? lora = spec.Lora;
        IReadOnlyList<NamedTensor>? initial = null;
        if (spec.InitialAdapter is not null)
        {
            if (lora is null)
                throw new ArgumentException("an initial adapter needs LoRA training, not --full");
            PeftAdapter adapter = PeftAdapter.Load(spec.InitialAdapter, config);
            lora = adapter.Config;
            initial = adapter.Tensors;
        }

        using ITrainerBackend backend = CpuTrainerBackend.Create(new CpuTrainerBackendOptions
        {
            ModelDirectory = modelDirectory,
            Config = config,
            Lora = lora,
            Seed = spec.InitSeed,
            WeightDecay = spec.Options.WeightDecay,
        });
        if (initial is not null)
            backend.SetTrainable(initial);

        string runDirectory = Path.GetFullPath(spec.OutputDirectory);
        Directory.CreateDirectory(runDirectory);
        var identity = Identity(modelDirectory, config, lora, spec, report,
            spec.Options.Objective == TrainingObjective.Sft ? Fingerprint(sft.Select(e => e.Sequence)) : Fingerprint(dpo.SelectMany(e => new[] { e.Chosen, e.Rejected })));

        var run = new TrainingRun(backend, spec.Options, runDirectory, identity);
        TrainingSummary summary = spec.Options.Objective == TrainingObjective.Sft
            ? run.TrainSft(sft, progress, stop)
            : run.TrainDpo(dpo, progress, stop);

        string? final = null;
        if (summary.Completed)
            final = WriteFinal(backend, modelDirectory, runDirectory, lora);
        WriteSummary(runDirectory, report, summary, final);
        return new TrainingJobResult(report, summary, final);
    }

    /// <summary>
    /// The run's product, published whole: with LoRA a PEFT folder (out/adapter), with full fine-tuning a Hugging Face model
    /// folder (out/model: config.json, fp32 model.safetensors, the tokenizer files) that every verb taking --model accepts.
    /// </summary>
    public static string WriteFinal(ITrainerBackend backend, string modelDirectory, string runDirectory, LoraConfig? lora)
    {
        if (lora is not null)
            return backend.SaveAdapter(Path.Combine(runDirectory, AdapterFolder), modelDirectory);

        string target = Path.Combine(runDirectory, ModelFolder);
        string staging = AtomicDirectory.CreateStaging(target);
        try
        {
            // Streamed from the backend's copy in the state-dict order transformers uses (no second copy as bytes).
            var byName = backend.GetTrainable().ToDictionary(t => t.Name, StringComparer.Ordinal);
            ExpectedTensors.Write(Path.Combine(staging, SafeTensorsCheckpoint.SingleFileName),
                backend.Config.TensorLayout().Select(t => byName[t.Name]).ToList(), new Dictionary<string, string> { ["format"] = "pt" });
            backend.Config.Save(Path.Combine(staging, ModelConfig.FileName));
            foreach (string file in Directory.EnumerateFiles(modelDirectory))
            {
                string name = Path.GetFileName(file);
                // Tokenizer and generation files travel with the weights; the old weights and their index do not.
                if (name.StartsWith("tokenizer", StringComparison.Ordinal) || name is "special_tokens_map.json" or "generation_config.json")
                    File.Copy(file, Path.Combine(staging, name));
            }
            AtomicDirectory.Replace(staging, target);
        }
        catch
        {
            AtomicDirectory.DeleteQuietly(staging);
            throw;
        }
        return target;
    }

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>The run's identity: everything that must match for a checkpoint to be resumed.</summary>
    private static Dictionary<string, string> Identity(string modelDirectory, ModelConfig config, LoraConfig? lora, TrainingJobSpec spec,
        DatasetReport report, string dataFingerprint)
    {
        var o = spec.Options;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["objective"] = o.Objective.ToString().ToLowerInvariant(),
            ["model"] = modelDirectory,
            ["model_config"] = Sha256(config.ToJson()),
            ["mode"] = lora is null ? "full" : $"lora r={lora.Rank} alpha={lora.Alpha} rslora={lora.UseRsLora} targets={string.Join(",", lora.TargetModules)}",
            ["initial_adapter"] = spec.InitialAdapter is null ? "" : Path.GetFullPath(spec.InitialAdapter),
            ["init_seed"] = spec.InitSeed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["data"] = dataFingerprint,
            ["data_path"] = Path.GetFullPath(report.Path),
            ["options"] = JsonSerializer.Serialize(o with { CheckpointEvery = 0, KeepCheckpoints = 1 }),
        };
    }

    /// <summary>SHA-256 over every sample's token ids and loss mask, in order.</summary>
    public static string Fingerprint(IEnumerable<TrainingSequence> sequences)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> word = stackalloc byte[4];
        foreach (TrainingSequence s in sequences)
        {
            BitConverter.TryWriteBytes(word, s.Length);
            hash.AppendData(word);
            for (int i = 0; i < s.Length; i++)
            {
                BitConverter.TryWriteBytes(word, s.LossMask[i] ? s.TokenIds[i] | int.MinValue : s.TokenIds[i]);
                hash.AppendData(word);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static void WriteSummary(string runDirectory, DatasetReport report, TrainingSummary summary, string? final)
    {
        var doc = new Dictionary<string, object?>
        {
            ["dataset"] = report,
            ["summary"] = summary,
            ["completed"] = summary.Completed,
            ["final_output"] = final,
        };
        AtomicFile.WriteAllText(Path.Combine(runDirectory, "train_summary.json"), JsonSerializer.Serialize(doc, IndentedJson) + "\n");
    }
}
