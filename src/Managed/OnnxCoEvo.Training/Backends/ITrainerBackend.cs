using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Optim;

namespace OnnxCoEvo.Training.Backends;

/// <summary>
/// The one seam every recipe trains through: a base model with either a LoRA adapter or every weight trainable, that
/// scores sequences and takes SFT and DPO optimizer steps. Backends: the fp32 CPU reference (<see cref="CpuTrainerBackend"/>)
/// and the CUDA one (OnnxCoEvo.Cuda). Data order, schedules, checkpoints and logging live in
/// <see cref="Trainer.TrainingRun"/>, above this interface, so every backend resumes the same way.
/// </summary>
public interface ITrainerBackend : IDisposable
{
    /// <summary>"cpu", "cuda".</summary>
    string Name { get; }

    ModelConfig Config { get; }

    /// <summary>The adapter being trained, or null in full fine-tune mode (every weight trainable).</summary>
    LoraConfig? Lora { get; }

    long TrainableParameterCount { get; }

    /// <summary>
    /// Per sequence, the sum over its loss-masked tokens of log p(token | prefix), in input order. With
    /// <paramref name="adapterEnabled"/> false the LoRA terms are skipped (the base model; DPO's "adapter off" reference).
    /// </summary>
    double[] SequenceLogProbs(IReadOnlyList<TrainingSequence> sequences, bool adapterEnabled = true);

    /// <summary>
    /// One optimizer step of SFT over the micro-batches: the loss is the mean token cross-entropy over all trained tokens
    /// of all micro-batches (normalised by the whole step's token count, not per micro-batch), then clipping and AdamW.
    /// Throws <see cref="TrainingDivergedException"/> before touching any weight when the loss or gradient is not finite.
    /// </summary>
    StepResult SftStep(IReadOnlyList<IReadOnlyList<TrainingSequence>> microBatches, StepSettings settings);

    /// <summary>
    /// One optimizer step of DPO (sigmoid loss with beta over summed continuation log-probs; reference sums supplied)
    /// plus, when <see cref="PreferenceLossOptions.ChosenNllWeight"/> &gt; 0, the weighted NLL of the chosen side; means over the
    /// whole step's pairs (and chosen tokens).
    /// </summary>
    StepResult DpoStep(IReadOnlyList<IReadOnlyList<DpoStepPair>> microBatches, PreferenceLossOptions dpo, StepSettings settings);

    /// <summary>Names and shapes of <see cref="GetTrainable"/>'s tensors, in its order, without copying any values.</summary>
    IReadOnlyList<(string Name, int[] Shape)> TrainableLayout { get; }

    /// <summary>Names and shapes of <see cref="GetOptimizerState"/>'s tensors, in its order, without copying any values.</summary>
    IReadOnlyList<(string Name, int[] Shape)> OptimizerLayout { get; }

    /// <summary>The trainable tensors (the adapter, or every weight in full mode) by name, copied.</summary>
    IReadOnlyList<NamedTensor> GetTrainable();

    /// <summary>Replaces trainable tensors by name; names and shapes must match.</summary>
    void SetTrainable(IReadOnlyList<NamedTensor> tensors);

    /// <summary>Optimizer state (moments and step count) as named tensors, for checkpoints.</summary>
    AdamWState GetOptimizerState();

    void SetOptimizerState(AdamWState state);
}

/// <summary>What one optimizer step needs from the schedule: the learning rate and the clipping threshold (0: none).</summary>
public sealed record StepSettings(float LearningRate, float MaxGradNorm);

/// <summary>A DPO pair for one step, with the reference policy's summed log-probs of each side.</summary>
public sealed record DpoStepPair(TrainingSequence Chosen, TrainingSequence Rejected, double ReferenceChosen, double ReferenceRejected);

/// <summary>
/// What one optimizer step did. Loss is the total objective; for DPO steps the DPO part, the NLL part and TRL's reward
/// statistics (beta x policy-minus-reference log-ratio of each side, their margin, and the share of pairs with a
/// positive margin) are filled in too. GradNorm is the global L2 norm before clipping.
/// </summary>
public sealed record StepResult(double Loss, double GradNorm, long Tokens, long TrainedTokens, int Sequences)
{
    public double? DpoLoss { get; init; }
    public double? SftLoss { get; init; }
    public double? ChosenReward { get; init; }
    public double? RejectedReward { get; init; }
    public double? RewardMargin => ChosenReward - RejectedReward;
    public double? RewardAccuracy { get; init; }
}

/// <summary>The loss or a gradient stopped being finite; no weight was changed by the failed step.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
