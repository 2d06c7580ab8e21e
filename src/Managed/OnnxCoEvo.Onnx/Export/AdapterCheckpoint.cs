using System.Globalization;
using System.Text.RegularExpressions;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Peft;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>What kind of folder a tuned adapter was read from.</summary>
public enum AdapterCheckpointKind
{
    /// <summary>adapter_config.json + adapter_model.safetensors.</summary>
    PeftFolder,

    /// <summary>checkpoint-NNNNNN/ of a training run (trainable.safetensors, optimizer.safetensors, trainer_state.json).</summary>
    TrainingCheckpoint,

    /// <summary>A `coevo train` output directory: its adapter/ folder, else its newest checkpoint.</summary>
    TrainingRun,
}

/// <summary>A tuned LoRA adapter read for export, with where it came from.</summary>
public sealed partial record AdapterCheckpoint(PeftAdapter Adapter, string Source, AdapterCheckpointKind Kind)
{
    /// <summary>
    /// Reads the adapter a user of `coevo train` has: a PEFT folder (out/adapter), a training checkpoint directory
    /// (out/checkpoints/checkpoint-NNNNNN, whose LoRA config is read from trainer_state.json's run identity), or the run's
    /// output directory (its adapter/, else its newest complete checkpoint). Anything else is refused saying what was
    /// expected; a full fine-tune run is refused pointing at its model folder.
    /// </summary>
    /// <exception cref="DataFormatException">A file is malformed or does not fit <paramref name="model"/> (names file and tensor).</exception>
    public static AdapterCheckpoint Load(string path, ModelConfig model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(model);
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new ArgumentException($"adapter '{full}' is a file; expected a PEFT adapter folder, a training checkpoint directory or a `coevo train` output directory");
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"adapter '{full}' does not exist");

        if (File.Exists(Path.Combine(full, PeftAdapter.ConfigFileName)))
            return new AdapterCheckpoint(PeftAdapter.Load(full, model), full, AdapterCheckpointKind.PeftFolder);
        if (File.Exists(Path.Combine(full, TrainingCheckpoint.TrainableFileName)))
            return new AdapterCheckpoint(FromTrainingCheckpoint(full, model), full, AdapterCheckpointKind.TrainingCheckpoint);

        string adapter = Path.Combine(full, TrainingJob.AdapterFolder);
        if (File.Exists(Path.Combine(adapter, PeftAdapter.ConfigFileName)))
            return new AdapterCheckpoint(PeftAdapter.Load(adapter, model), adapter, AdapterCheckpointKind.TrainingRun);
        // The run directory's checkpoints/, or that folder itself: the newest complete checkpoint.
        if ((TrainingCheckpoint.Latest(Path.Combine(full, "checkpoints")) ?? TrainingCheckpoint.Latest(full)) is { } latest)
            return new AdapterCheckpoint(FromTrainingCheckpoint(latest, model), latest, AdapterCheckpointKind.TrainingRun);
        if (File.Exists(Path.Combine(full, TrainingJob.ModelFolder, ModelConfig.FileName)))
            throw new ArgumentException($"'{full}' is a full fine-tuning run (no LoRA adapter); its weights are the model folder {Path.Combine(full, TrainingJob.ModelFolder)}");
        throw new ArgumentException($"'{full}' holds no LoRA adapter: expected {PeftAdapter.ConfigFileName} (a PEFT folder), " +
            $"{TrainingCheckpoint.TrainableFileName} (a training checkpoint), or {TrainingJob.AdapterFolder}/ or checkpoints/ (a `coevo train` output directory), or checkpoint-NNNNNN folders");
    }

    /// <summary>
    /// A training checkpoint's LoRA factors. Their config is the run identity's "mode" entry in trainer_state.json
    /// ("lora r=16 alpha=32 rslora=False targets=q_proj,v_proj", as <see cref="TrainingJob"/> records it); the whole
    /// checkpoint (factors and AdamW moments) is validated against that layout.
    /// </summary>
    private static PeftAdapter FromTrainingCheckpoint(string directory, ModelConfig model)
    {
        string statePath = Path.Combine(directory, TrainerState.FileName);
        if (!File.Exists(statePath))
            throw new FileNotFoundException($"{directory} is not a complete checkpoint: {TrainerState.FileName} is missing", statePath);
        TrainerState state = TrainerState.Load(statePath);
        if (!state.Metadata.TryGetValue("mode", out string? mode))
            throw new DataFormatException(statePath, "$.metadata.mode", "missing: the checkpoint does not say which LoRA config it was trained with");
        LoraConfig lora = ParseMode(mode, statePath);
        IReadOnlyList<(string Name, int[] Shape)> layout = lora.FactorLayout(model);
        var moments = layout.SelectMany(f => new[] { (f.Name + AdamW.FirstMomentSuffix, f.Shape), (f.Name + AdamW.SecondMomentSuffix, f.Shape) }).ToList();
        CheckpointContents contents = TrainingCheckpoint.Read(directory, layout, moments);
        return new PeftAdapter { Config = lora, Tensors = contents.Trainable };
    }

    [GeneratedRegex(@"^lora r=(\d+) alpha=(\S+) rslora=(True|False) targets=([a-z_,]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ModePattern();

    private static LoraConfig ParseMode(string mode, string statePath)
    {
        if (mode == "full")
            throw new DataFormatException(statePath, "$.metadata.mode", "is \"full\": the checkpoint holds every weight, not a LoRA adapter");
        Match match = ModePattern().Match(mode);
        if (!match.Success
            || !int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int rank)
            || !double.TryParse(match.Groups[2].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha))
            throw new DataFormatException(statePath, "$.metadata.mode", $"\"{mode}\" is not \"lora r=R alpha=A rslora=True|False targets=m1,m2\"");
        var lora = new LoraConfig
        {
            Rank = rank,
            Alpha = alpha,
            UseRsLora = match.Groups[3].Value == "True",
            TargetModules = match.Groups[4].Value.Split(','),
        };
        try
        {
            lora.Validate();
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(statePath, "$.metadata.mode", e.Message, e);
        }
        return lora;
    }
}
