using OnnxCoEvo.Training.Backends;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>Reported after every optimizer step.</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, double Epoch, float LearningRate, StepResult Result,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan? Remaining);

/// <summary>How a run ended.</summary>
public sealed record TrainingSummary(long StartStep, long FinalStep, long TotalSteps, bool Stopped, double? FirstLoss, double? LastLoss,
    double? FirstRewardMargin, double? LastRewardMargin, long TrainedTokens, TimeSpan Elapsed, string? LastCheckpoint)
{
    public bool Completed => FinalStep >= TotalSteps;
}
