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

    /// <summary>DPO only: the policy scored on every pair of the data once training ended (per-step figures are noisy).</summary>
    public PreferenceEvaluation? FinalPreferences { get; init; }
}

/// <summary>
/// The reward statistics of a policy over a whole pair set against the fixed reference, as TRL names them: mean
/// beta * log-ratio of each side, their margin, and the share of pairs whose margin is positive.
/// </summary>
public sealed record PreferenceEvaluation(int Pairs, double ChosenReward, double RejectedReward, double Margin, double Accuracy);
