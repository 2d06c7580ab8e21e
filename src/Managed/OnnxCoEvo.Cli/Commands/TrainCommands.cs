using System.Globalization;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Trainer;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

/// <summary>Options shared by `train sft` and `train dpo`.</summary>
public abstract class TrainCommandBase : ICliCommand
{
    [Option("model", Required = true, HelpText = "Hugging Face-format model directory (config.json, safetensors, tokenizer.json).")]
    public string Model { get; set; } = "";

    [Option("data", Required = true, HelpText = "Dataset file (any format `coevo data info` reads).")]
    public string Data { get; set; } = "";

    [Option("format", HelpText = "Dataset format (default: detected).")]
    public string? Format { get; set; }

    [Option("out", Required = true, HelpText = "Run directory: checkpoints, metrics.jsonl, and the final adapter/ (or model/ with --full). Running again resumes.")]
    public string Out { get; set; } = "";

    [Option("full", HelpText = "Train every weight instead of a LoRA adapter (small models such as the tiny preset).")]
    public bool Full { get; set; }

    [Option("lora-rank", Default = 16, HelpText = "LoRA rank r.")]
    public int LoraRank { get; set; }

    [Option("lora-alpha", Default = 32.0, HelpText = "LoRA alpha; scaling = alpha/r (alpha/sqrt(r) with --rslora).")]
    public double LoraAlpha { get; set; }

    [Option("rslora", HelpText = "Rank-stabilised LoRA scaling alpha/sqrt(r).")]
    public bool RsLora { get; set; }

    [Option("lora-targets", Default = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", HelpText = "Comma-separated target modules.")]
    public string LoraTargets { get; set; } = "";

    [Option("init-adapter", HelpText = "PEFT adapter folder to start from (its LoRA config is used).")]
    public string? InitAdapter { get; set; }

    [Option("lr", HelpText = "Peak learning rate (default 2e-4 for LoRA, 1e-4 with --full; DPO: 5e-5 LoRA, 5e-6 full).")]
    public float? LearningRate { get; set; }

    [Option("schedule", Default = "cosine", HelpText = "constant | constant_with_warmup | cosine.")]
    public string Schedule { get; set; } = "";

    [Option("warmup-ratio", Default = 0.03, HelpText = "Warmup as a share of all steps.")]
    public double WarmupRatio { get; set; }

    [Option("warmup-steps", HelpText = "Warmup steps (overrides --warmup-ratio).")]
    public int? WarmupSteps { get; set; }

    [Option("epochs", Default = 1, HelpText = "Passes over the data.")]
    public int Epochs { get; set; }

    [Option("batch-size", Default = 4, HelpText = "Samples per micro-batch.")]
    public int BatchSize { get; set; }

    [Option("grad-accum", Default = 1, HelpText = "Micro-batches per optimizer step (losses are normalised over the whole step).")]
    public int GradAccum { get; set; }

    [Option("max-grad-norm", Default = 1.0f, HelpText = "Global gradient-norm clipping (0: none).")]
    public float MaxGradNorm { get; set; }

    [Option("weight-decay", Default = 0.0f, HelpText = "AdamW decoupled weight decay.")]
    public float WeightDecay { get; set; }

    [Option("seed", Default = 0UL, HelpText = "Seed of the data order and the adapter's initial weights.")]
    public ulong Seed { get; set; }

    [Option("max-length", HelpText = "Longest sample in tokens (default: the model's max_position_embeddings).")]
    public int? MaxLength { get; set; }

    [Option("skip-long", HelpText = "Drop samples longer than --max-length (default: stop with an error naming the first).")]
    public bool SkipLong { get; set; }

    [Option("template", HelpText = "Chat template: chatml | llama3 | plain (default: detected from tokenizer_config.json).")]
    public string? Template { get; set; }

    [Option("checkpoint-every", Default = 50, HelpText = "Optimizer steps between checkpoints (0: only at the end or on Ctrl+C).")]
    public int CheckpointEvery { get; set; }

    [Option("keep-checkpoints", Default = 2, HelpText = "Complete checkpoints to keep.")]
    public int KeepCheckpoints { get; set; }

    protected abstract TrainingObjective Objective { get; }

    protected abstract float DefaultLearningRate(bool full);

    protected virtual TrainingOptions Customize(TrainingOptions options) => options;

    protected virtual bool SuccessesOnly => false;

    protected virtual SftTokens TrainOn => SftTokens.Assistant;

    public int Run()
    {
        var options = Customize(new TrainingOptions
        {
            Objective = Objective,
            Epochs = Epochs,
            MicroBatchSize = BatchSize,
            GradientAccumulation = GradAccum,
            LearningRate = LearningRate ?? DefaultLearningRate(Full),
            Schedule = Schedule,
            WarmupRatio = WarmupRatio,
            WarmupSteps = WarmupSteps,
            MaxGradNorm = MaxGradNorm,
            WeightDecay = WeightDecay,
            Seed = Seed,
            CheckpointEvery = CheckpointEvery,
            KeepCheckpoints = KeepCheckpoints,
        });
        var spec = new TrainingJobSpec
        {
            ModelDirectory = Model,
            DataPath = Data,
            DataFormat = Format,
            OutputDirectory = Out,
            Lora = Full ? null : new LoraConfig
            {
                Rank = LoraRank,
                Alpha = LoraAlpha,
                UseRsLora = RsLora,
                TargetModules = LoraTargets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            },
            InitialAdapter = InitAdapter,
            Options = options,
            MaxLength = MaxLength,
            Overlength = SkipLong ? OverlengthPolicy.Skip : OverlengthPolicy.Error,
            SuccessesOnly = SuccessesOnly,
            TrainOn = TrainOn,
            Template = Template,
            InitSeed = Seed,
        };

        using var stop = new CtrlCStop();
        try
        {
            TrainingJobResult result = TrainingProgressView.Run(Objective, progress =>
                TrainingJob.Run(spec, ReportDataset, progress, stop.Token));
            ReportSummary(result);
            return 0;
        }
        catch (TrainingDivergedException e)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    private static void ReportDataset(DatasetReport r)
    {
        AnsiConsole.MarkupLine($"data {Markup.Escape(r.Path)} ({Markup.Escape(r.Format)}): {r.Kept} of {r.Records} records kept, " +
            $"{HumanUnits.Count(r.TrainedTokens)} trained of {HumanUnits.Count(r.TotalTokens)} tokens, longest {r.LongestSequence}" +
            (r.SkippedNoTrainedTokens + r.SkippedTooLong + r.SkippedFiltered > 0
                ? $"; dropped {r.SkippedNoTrainedTokens} without trained tokens, {r.SkippedTooLong} too long, {r.SkippedFiltered} filtered"
                : ""));
    }

    private void ReportSummary(TrainingJobResult result)
    {
        TrainingSummary s = result.Summary;
        string F(double? v) => v is { } x ? x.ToString("0.0000", CultureInfo.InvariantCulture) : "-";
        if (s.StartStep == s.TotalSteps)
        {
            AnsiConsole.MarkupLine($"[green]already complete[/]: {s.TotalSteps} steps in {Markup.Escape(Path.GetFullPath(Out))}");
        }
        else
        {
            string margin = s.FirstRewardMargin is null ? "" : $", reward margin {F(s.FirstRewardMargin)} -> {F(s.LastRewardMargin)}";
            AnsiConsole.MarkupLine($"{(s.Stopped ? "[yellow]stopped[/]" : "[green]trained[/]")} steps {s.StartStep}..{s.FinalStep} of {s.TotalSteps}: " +
                $"loss {F(s.FirstLoss)} -> {F(s.LastLoss)}{margin}, {HumanUnits.Count(s.TrainedTokens)} trained tokens in {s.Elapsed.TotalSeconds:0.0} s");
        }
        if (s.FinalPreferences is { } p)
            AnsiConsole.MarkupLine($"all {p.Pairs} pairs after training: reward margin {F(p.Margin)} (chosen {F(p.ChosenReward)}, " +
                $"rejected {F(p.RejectedReward)}), accuracy {p.Accuracy.ToString("0.00", CultureInfo.InvariantCulture)}");
        if (s.LastCheckpoint is not null)
            AnsiConsole.MarkupLine($"checkpoint {Markup.Escape(s.LastCheckpoint)}");
        if (result.FinalOutput is not null)
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(result.FinalOutput)}");
        else if (s.Stopped)
            AnsiConsole.MarkupLine("run the same command again to resume");
    }
}

[Verb("sft", HelpText = "Supervised fine-tuning on assistant tokens (LoRA or --full), resumable.")]
public sealed class TrainSftCommand : TrainCommandBase
{
    [Option("successes-only", HelpText = "Keep only trajectories with reward 1.0 (EEF's SFT POS).")]
    public bool OnlySuccesses { get; set; }

    protected override TrainingObjective Objective => TrainingObjective.Sft;

    [Option("train-on", Default = SftTokens.Assistant, HelpText = "assistant (behaviour cloning on assistant turns) | all " +
        "(every token, observations included: language modelling of the environment's text, for models trained from scratch).")]
    public SftTokens Tokens { get; set; }

    protected override bool SuccessesOnly => OnlySuccesses;

    protected override SftTokens TrainOn => Tokens;

    protected override float DefaultLearningRate(bool full) => full ? 1e-4f : 2e-4f;
}

[Verb("dpo", HelpText = "DPO on preference pairs (sigmoid loss, optional chosen-side NLL), resumable.")]
public sealed class TrainDpoCommand : TrainCommandBase
{
    [Option("beta", Default = 0.1f, HelpText = "DPO beta.")]
    public float Beta { get; set; }

    [Option("dpo-weight", Default = 1.0f, HelpText = "Weight of the DPO loss (co-evolving agents: 0.5).")]
    public float DpoWeight { get; set; }

    [Option("sft-weight", Default = 0.0f, HelpText = "Weight of the chosen-side NLL, a mean over chosen tokens (co-evolving agents: 0.5).")]
    public float SftWeight { get; set; }

    [Option("reference", Default = "start", HelpText = "Reference policy: start (the policy when training starts) | base (adapter off).")]
    public string Reference { get; set; } = "";

    protected override TrainingObjective Objective => TrainingObjective.Dpo;

    protected override float DefaultLearningRate(bool full) => full ? 5e-6f : 5e-5f;

    protected override TrainingOptions Customize(TrainingOptions options) => options with
    {
        Dpo = new PreferenceLossOptions { Beta = Beta, DpoWeight = DpoWeight, ChosenNllWeight = SftWeight },
        Reference = Reference.ToLowerInvariant() switch
        {
            "start" => DpoReference.Start,
            "base" => DpoReference.Base,
            _ => throw new ArgumentException($"--reference must be start or base, not '{Reference}'"),
        },
    };
}
