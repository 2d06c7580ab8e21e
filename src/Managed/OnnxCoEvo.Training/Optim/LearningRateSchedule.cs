namespace OnnxCoEvo.Training.Optim;

public enum LearningRateScheduleKind
{
    /// <summary>"constant": the peak rate throughout (HF get_constant_schedule; takes no warmup).</summary>
    Constant,

    /// <summary>"constant_with_warmup": linear warmup from 0, then the peak rate (HF get_constant_schedule_with_warmup).</summary>
    ConstantWithWarmup,

    /// <summary>"cosine": linear warmup from 0, then half a cosine down to 0 at the last step (HF get_cosine_schedule_with_warmup, num_cycles 0.5).</summary>
    Cosine,
}

/// <summary>
/// A learning-rate schedule with Hugging Face transformers' maths. Steps count completed optimizer updates:
/// <see cref="At"/>(s) is the rate of the update that follows s updates, i.e. the LambdaLR value after s scheduler steps,
/// so (as in HF) the first update of a warmup runs at rate 0.
/// </summary>
public sealed record LearningRateSchedule
{
    public LearningRateSchedule(LearningRateScheduleKind kind, double peakLearningRate, long totalSteps, long warmupSteps = 0)
    {
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a schedule kind");
        if (!double.IsFinite(peakLearningRate) || peakLearningRate < 0)
            throw new ArgumentException($"learning rate must be finite and >= 0, is {peakLearningRate}");
        if (totalSteps < 1)
            throw new ArgumentException($"total training steps must be >= 1, is {totalSteps}");
        if (warmupSteps < 0)
            throw new ArgumentException($"warmup steps must be >= 0, is {warmupSteps}");
        // HF's get_scheduler drops the warmup of "constant" without a word; say so instead of training without it.
        if (kind == LearningRateScheduleKind.Constant && warmupSteps > 0)
            throw new ArgumentException($"the constant schedule has no warmup ({warmupSteps} warmup steps given); use constant_with_warmup");
        Kind = kind;
        PeakLearningRate = peakLearningRate;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
    }

    public LearningRateScheduleKind Kind { get; }

    public double PeakLearningRate { get; }

    public long TotalSteps { get; }

    public long WarmupSteps { get; }

    /// <summary>The name HF and the CLI use: "constant", "constant_with_warmup", "cosine".</summary>
    public string Name => NameOf(Kind);

    public static string NameOf(LearningRateScheduleKind kind) => kind switch
    {
        LearningRateScheduleKind.Constant => "constant",
        LearningRateScheduleKind.ConstantWithWarmup => "constant_with_warmup",
        LearningRateScheduleKind.Cosine => "cosine",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a schedule kind"),
    };

    /// <summary>Reads a schedule name; throws <see cref="ArgumentException"/> listing the known names.</summary>
    public static LearningRateScheduleKind ParseKind(string name) =>
        TryParseKind(name, out LearningRateScheduleKind kind)
            ? kind
            : throw new ArgumentException($"unknown learning-rate schedule '{name}'; known: {string.Join(", ", Enum.GetValues<LearningRateScheduleKind>().Select(NameOf))}");

    public static bool TryParseKind(string name, out LearningRateScheduleKind kind)
    {
        foreach (LearningRateScheduleKind candidate in Enum.GetValues<LearningRateScheduleKind>())
        {
            if (NameOf(candidate) == name)
            {
                kind = candidate;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>HF's warmup_ratio: ceil(ratio * total steps), with the same double product Python computes.</summary>
    public static long WarmupStepsFromRatio(double ratio, long totalSteps)
    {
        if (!(ratio is >= 0 and <= 1))
            throw new ArgumentException($"warmup ratio must be in [0, 1], is {ratio}");
        return (long)Math.Ceiling(totalSteps * ratio);
    }

    /// <summary>The rate of the update that follows <paramref name="completedSteps"/> updates.</summary>
    public double At(long completedSteps) => PeakLearningRate * Multiplier(completedSteps);

    /// <summary>HF's lr_lambda: the factor on the peak rate after <paramref name="completedSteps"/> scheduler steps.</summary>
    public double Multiplier(long completedSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(completedSteps);
        if (Kind == LearningRateScheduleKind.Constant)
            return 1;
        // Warmup: s / max(1, warmup) for s < warmup.
        if (completedSteps < WarmupSteps)
            return (double)completedSteps / Math.Max(1, WarmupSteps);
        if (Kind == LearningRateScheduleKind.ConstantWithWarmup)
            return 1;
        // Cosine with num_cycles 0.5: progress = (s - warmup) / max(1, total - warmup),
        // factor = max(0, 0.5 * (1 + cos(pi * 2 * 0.5 * progress))), which reaches 0 at s = total (past it the cosine rises again, as HF's does).
        const double numCycles = 0.5;
        double progress = (double)(completedSteps - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * numCycles * 2 * progress)));
    }
}
