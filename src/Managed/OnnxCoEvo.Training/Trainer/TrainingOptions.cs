using OnnxCoEvo.Training.Losses;

namespace OnnxCoEvo.Training.Trainer;

public enum TrainingObjective
{
    Sft,
    Dpo,
}

/// <summary>Which policy scores the reference side of DPO.</summary>
public enum DpoReference
{
    /// <summary>The policy as it is when training starts (ETO: the start-of-iteration policy). Computed once, stored in the run.</summary>
    Start,

    /// <summary>The base model with the adapter switched off.</summary>
    Base,
}

/// <summary>
/// Hyper-parameters of a training run. An optimizer step takes <see cref="MicroBatchSize"/> x
/// <see cref="GradientAccumulation"/> samples (sequences for SFT, pairs for DPO); the last step of an epoch may take fewer.
/// </summary>
public sealed record TrainingOptions
{
    public TrainingObjective Objective { get; init; } = TrainingObjective.Sft;

    public int Epochs { get; init; } = 1;

    public int MicroBatchSize { get; init; } = 4;

    public int GradientAccumulation { get; init; } = 1;

    public float LearningRate { get; init; } = 2e-4f;

    /// <summary>"constant", "constant_with_warmup" or "cosine".</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Warmup as a share of all steps (HF warmup_ratio), used when <see cref="WarmupSteps"/> is null.</summary>
    public double WarmupRatio { get; init; } = 0.03;

    public int? WarmupSteps { get; init; }

    public float MaxGradNorm { get; init; } = 1f;

    public float WeightDecay { get; init; }

    /// <summary>Seeds the data order (a fresh permutation per epoch derived from seed and epoch).</summary>
    public ulong Seed { get; init; }

    public PreferenceLossOptions Dpo { get; init; } = new();

    public DpoReference Reference { get; init; } = DpoReference.Start;

    /// <summary>Write a checkpoint every this many optimizer steps (0: only at the end and when stopped).</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>Complete checkpoints to keep; older ones are deleted after a newer one is safely written.</summary>
    public int KeepCheckpoints { get; init; } = 2;

    public int SamplesPerStep => MicroBatchSize * GradientAccumulation;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"epochs must be >= 1, is {Epochs}");
        if (MicroBatchSize < 1) throw new ArgumentException($"batch size must be >= 1, is {MicroBatchSize}");
        if (GradientAccumulation < 1) throw new ArgumentException($"gradient accumulation must be >= 1, is {GradientAccumulation}");
        if (!float.IsFinite(LearningRate) || LearningRate <= 0) throw new ArgumentException($"learning rate must be finite and > 0, is {LearningRate}");
        if (!double.IsFinite(WarmupRatio) || WarmupRatio is < 0 or > 1) throw new ArgumentException($"warmup ratio must be in [0, 1], is {WarmupRatio}");
        if (WarmupSteps is < 0) throw new ArgumentException($"warmup steps must be >= 0, is {WarmupSteps}");
        if (!float.IsFinite(MaxGradNorm) || MaxGradNorm < 0) throw new ArgumentException($"max grad norm must be finite and >= 0 (0: no clipping), is {MaxGradNorm}");
        if (!float.IsFinite(WeightDecay) || WeightDecay < 0) throw new ArgumentException($"weight decay must be finite and >= 0, is {WeightDecay}");
        Dpo.Validate();
        if (CheckpointEvery < 0) throw new ArgumentException($"checkpoint interval must be >= 0, is {CheckpointEvery}");
        if (KeepCheckpoints < 1) throw new ArgumentException($"checkpoints to keep must be >= 1, is {KeepCheckpoints}");
    }
}
