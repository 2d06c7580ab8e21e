using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Optim;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>A complete checkpoint on disk.</summary>
public sealed record CheckpointInfo(long Step, string Directory);

/// <summary>A checkpoint read back for resuming: step, the run identity it was written under, tensors and optimizer state.</summary>
public sealed record ResumePoint(long Step, IReadOnlyDictionary<string, string> Identity, IReadOnlyList<NamedTensor> Trainable, AdamWState Optimizer);

/// <summary>
/// The checkpoints of one run directory (<c>checkpoints/checkpoint-NNNNNN/</c>, see <see cref="TrainingCheckpoint"/>), in the
/// backend-neutral form: tensors come from and go to an <see cref="ITrainerBackend"/>. trainer_state.json's metadata
/// carries the run identity; its rng_state is the xoshiro256** state that orders the checkpoint's epoch.
/// </summary>
public sealed class RunCheckpointStore(string directory, int keep)
{
    public string DirectoryPath { get; } = Path.GetFullPath(directory);

    public CheckpointInfo? Latest() =>
        TrainingCheckpoint.List(DirectoryPath) is { Count: > 0 } all ? new CheckpointInfo(all[^1].Step, all[^1].Path) : null;

    public string Save(long step, int epoch, long epochPosition, ulong seed, double learningRate, LearningRateSchedule schedule,
        IReadOnlyList<LossRecord> lossHistory, IReadOnlyDictionary<string, string> identity, ITrainerBackend backend)
    {
        var state = new TrainerState
        {
            GlobalStep = step,
            Epoch = epoch,
            EpochPosition = epochPosition,
            RngState = DataOrder.EpochGenerator(seed, epoch).GetState(),
            LearningRate = learningRate,
            Schedule = schedule,
            LossHistory = lossHistory,
            Metadata = identity,
        };
        return TrainingCheckpoint.Save(DirectoryPath, backend.GetTrainable(), backend.GetOptimizerState(), state,
            new CheckpointSaveOptions { KeepLast = keep });
    }

    /// <summary>Reads and validates a checkpoint against the layout of <paramref name="backend"/>'s trainable tensors and optimizer state.</summary>
    public ResumePoint Load(CheckpointInfo checkpoint, ITrainerBackend backend)
    {
        CheckpointContents contents = TrainingCheckpoint.Read(checkpoint.Directory, backend.TrainableLayout, backend.OptimizerLayout);
        return new ResumePoint(contents.State.GlobalStep, contents.State.Metadata, contents.Trainable, contents.Optimizer);
    }
}
