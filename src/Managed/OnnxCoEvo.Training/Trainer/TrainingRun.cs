using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Training.Backends;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Optim;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>
/// Drives a backend through an SFT or DPO run in a run directory: data order, learning-rate schedule, metrics, periodic
/// atomic checkpoints, and resume. Layout of <c>runDirectory</c>:
/// <code>
/// checkpoints/checkpoint-000050/   trainable tensors, optimizer state, trainer_state.json (see RunCheckpointStore)
/// metrics.jsonl                    one line per optimizer step
/// train_config.json                the run identity (model, adapter config, data fingerprint, options)
/// reference_logps.json             DPO only: the reference policy's log-prob sums, computed once at the start
/// </code>
/// Running again with the same identity resumes from the newest complete checkpoint and continues bit-identically
/// (the data order is a pure function of seed and step; the backend is deterministic). A different identity (data,
/// model, options) is refused rather than silently mixed.
/// </summary>
public sealed class TrainingRun
{
    private readonly ITrainerBackend _backend;
    private readonly TrainingOptions _options;
    private readonly string _runDirectory;
    private readonly IReadOnlyDictionary<string, string> _identity;
    private readonly RunCheckpointStore _checkpoints;

    /// <param name="identity">What makes two runs the same run (model, adapter config, data fingerprint, options); stored in
    /// every checkpoint and compared on resume.</param>
    public TrainingRun(ITrainerBackend backend, TrainingOptions options, string runDirectory, IReadOnlyDictionary<string, string> identity)
    {
        options.Validate();
        _backend = backend;
        _options = options;
        _runDirectory = Path.GetFullPath(runDirectory);
        _identity = identity;
        Directory.CreateDirectory(_runDirectory);
        _checkpoints = new RunCheckpointStore(Path.Combine(_runDirectory, "checkpoints"), options.KeepCheckpoints);
    }

    public string MetricsPath => Path.Combine(_runDirectory, "metrics.jsonl");

    public string ReferencePath => Path.Combine(_runDirectory, "reference_logps.json");

    public RunCheckpointStore Checkpoints => _checkpoints;

    /// <summary>Stops after the step during which it is set (the CLI's Ctrl+C); a checkpoint is written first.</summary>
    public TrainingSummary TrainSft(IReadOnlyList<SftExample> examples, IProgress<TrainingProgress>? progress = null,
        CancellationToken stop = default)
    {
        if (_options.Objective != TrainingObjective.Sft)
            throw new InvalidOperationException("the options are for DPO; call TrainDpo");
        return Run(examples.Count, progress, stop, (indices, settings) =>
            _backend.SftStep(Chunk(indices, _options.MicroBatchSize, i => examples[i].Sequence), settings));
    }

    public TrainingSummary TrainDpo(IReadOnlyList<DpoExample> examples, IProgress<TrainingProgress>? progress = null,
        CancellationToken stop = default)
    {
        if (_options.Objective != TrainingObjective.Dpo)
            throw new InvalidOperationException("the options are for SFT; call TrainSft");
        (double Chosen, double Rejected)[] reference = LoadOrComputeReference(examples);
        TrainingSummary summary = Run(examples.Count, progress, stop, (indices, settings) =>
        {
            var micro = Chunk(indices, _options.MicroBatchSize,
                i => new DpoStepPair(examples[i].Chosen, examples[i].Rejected, reference[i].Chosen, reference[i].Rejected));
            return _backend.DpoStep(micro, _options.Dpo, settings);
        });
        return summary.Completed ? summary with { FinalPreferences = EvaluatePreferences(examples, reference) } : summary;
    }

    private TrainingSummary Run(int sampleCount, IProgress<TrainingProgress>? progress, CancellationToken stop,
        Func<int[], StepSettings, StepResult> takeStep)
    {
        var order = new DataOrder(sampleCount, _options.SamplesPerStep, _options.Epochs, _options.Seed);
        long total = order.TotalSteps;
        var kind = LearningRateSchedule.ParseKind(_options.Schedule);
        // The default warmup ratio does not apply to "constant" (it has no warmup); explicit warmup steps there are an error.
        long warmup = _options.WarmupSteps ?? (kind == LearningRateScheduleKind.Constant ? 0 : LearningRateSchedule.WarmupStepsFromRatio(_options.WarmupRatio, total));
        var schedule = new LearningRateSchedule(kind, _options.LearningRate, total, warmup);

        CheckpointInfo? resumed = Resume();
        long startStep = resumed?.Step ?? 0;
        string? lastCheckpoint = resumed?.Directory;
        // Written only once the directory is known to hold this run (or nothing), so a refused resume changes nothing.
        AtomicFile.WriteAllText(Path.Combine(_runDirectory, "train_config.json"),
            JsonSerializer.Serialize(_identity, IndentedJson) + "\n");
        TruncateMetrics(startStep);

        var clock = Stopwatch.StartNew();
        long tokensSinceStart = 0, trainedTokens = 0;
        double? firstLoss = null, lastLoss = null, firstMargin = null, lastMargin = null;
        long step = startStep;
        bool stopped = false;
        using var metrics = new StreamWriter(new FileStream(MetricsPath, FileMode.Append, FileAccess.Write, FileShare.Read));
        while (step < total)
        {
            float lr = (float)schedule.At(step);
            StepResult result;
            try
            {
                result = takeStep(order.SamplesOf(step), new StepSettings(lr, _options.MaxGradNorm));
            }
            catch (TrainingDivergedException e)
            {
                throw new TrainingDivergedException(
                    $"step {step + 1}: {e.Message}; no weight was changed by this step. " +
                    (lastCheckpoint is null ? "No checkpoint was written yet." : $"The last good checkpoint is {lastCheckpoint}.") +
                    " Lower the learning rate or check the data.");
            }
            step++;
            tokensSinceStart += result.Tokens;
            trainedTokens += result.TrainedTokens;
            firstLoss ??= result.Loss;
            lastLoss = result.Loss;
            firstMargin ??= result.RewardMargin;
            lastMargin = result.RewardMargin;

            double seconds = clock.Elapsed.TotalSeconds;
            double tokensPerSecond = seconds > 0 ? tokensSinceStart / seconds : 0;
            TimeSpan? remaining = step > startStep ? TimeSpan.FromSeconds(seconds / (step - startStep) * (total - step)) : null;
            double epoch = (double)step / order.StepsPerEpoch;
            WriteMetrics(metrics, step, epoch, lr, result, tokensPerSecond);
            _lossHistory.Enqueue(new LossRecord(step, result.Loss, lr, result.GradNorm));
            if (_lossHistory.Count > LossHistoryLength)
                _lossHistory.Dequeue();
            progress?.Report(new TrainingProgress(step, total, epoch, lr, result, tokensPerSecond, clock.Elapsed, remaining));

            stopped = stop.IsCancellationRequested && step < total;
            if (step == total || stopped || (_options.CheckpointEvery > 0 && step % _options.CheckpointEvery == 0))
                lastCheckpoint = SaveCheckpoint(step, order, lr, schedule);
            if (stopped)
                break;
        }
        return new TrainingSummary(startStep, step, total, stopped, firstLoss, lastLoss, firstMargin, lastMargin, trainedTokens,
            clock.Elapsed, lastCheckpoint);
    }

    /// <summary>Loads the newest checkpoint into the backend after checking it belongs to this run; null when there is none.</summary>
    private CheckpointInfo? Resume()
    {
        CheckpointInfo? latest = _checkpoints.Latest();
        if (latest is null)
            return null;
        ResumePoint loaded = _checkpoints.Load(latest, _backend);
        foreach (var (key, value) in _identity)
        {
            if (!loaded.Identity.TryGetValue(key, out string? stored) || stored != value)
                throw new InvalidOperationException(
                    $"{_runDirectory} holds checkpoints of a different run: '{key}' was '{stored ?? "(absent)"}', is now '{value}'. " +
                    "Use another --out directory, or delete that one to start over.");
        }
        _backend.SetTrainable(loaded.Trainable);
        _backend.SetOptimizerState(loaded.Optimizer);
        return latest;
    }

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    private const int LossHistoryLength = 100;
    private readonly Queue<LossRecord> _lossHistory = new();

    private string SaveCheckpoint(long step, DataOrder order, float lr, LearningRateSchedule schedule)
    {
        // The state after `step` updates: the next step belongs to epoch step / StepsPerEpoch.
        int epoch = (int)Math.Min(order.Epochs - 1, step / order.StepsPerEpoch);
        long position = Math.Min(order.SampleCount, (step - (long)epoch * order.StepsPerEpoch) * order.SamplesPerStep);
        return _checkpoints.Save(step, epoch, position, _options.Seed, lr, schedule, [.. _lossHistory], _identity, _backend);
    }

    private void TruncateMetrics(long keepThroughStep)
    {
        // Steps after the resumed checkpoint will be taken again; drop their old lines so each step appears once.
        if (!File.Exists(MetricsPath))
            return;
        var kept = File.ReadLines(MetricsPath).Where(line =>
        {
            if (string.IsNullOrWhiteSpace(line)) return false;
            try
            {
                using var doc = JsonDocument.Parse(line);
                return doc.RootElement.GetProperty("step").GetInt64() <= keepThroughStep;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return false; // a torn last line from a killed run
            }
        }).ToList();
        AtomicFile.WriteAllText(MetricsPath, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
    }

    private static void WriteMetrics(StreamWriter writer, long step, double epoch, float lr, StepResult r, double tokensPerSecond)
    {
        var line = new Dictionary<string, object?>
        {
            ["step"] = step,
            ["epoch"] = Math.Round(epoch, 4),
            ["loss"] = r.Loss,
            ["lr"] = lr,
            ["grad_norm"] = r.GradNorm,
            ["tokens"] = r.Tokens,
            ["trained_tokens"] = r.TrainedTokens,
            ["tokens_per_s"] = Math.Round(tokensPerSecond, 1),
        };
        if (r.DpoLoss is { } dpo) line["dpo_loss"] = dpo;
        if (r.SftLoss is { } sft) line["sft_loss"] = sft;
        if (r.ChosenReward is { } c) line["rewards_chosen"] = c;
        if (r.RejectedReward is { } rj) line["rewards_rejected"] = rj;
        if (r.RewardMargin is { } m) line["rewards_margin"] = m;
        if (r.RewardAccuracy is { } a) line["rewards_accuracy"] = a;
        writer.WriteLine(JsonSerializer.Serialize(line));
        writer.Flush();
    }

    private (double Chosen, double Rejected)[] LoadOrComputeReference(IReadOnlyList<DpoExample> examples)
    {
        string fingerprint = _identity.TryGetValue("data", out string? data) ? data : "";
        if (File.Exists(ReferencePath))
        {
            var stored = ReferenceLogProbsFile.Read(ReferencePath);
            if (stored.DataFingerprint == fingerprint && stored.Reference == _options.Reference.ToString().ToLowerInvariant()
                && stored.Values.Length == examples.Count)
                return stored.Values;
            if (_checkpoints.Latest() is not null)
                throw new DataFormatException(ReferencePath, "data",
                    "was computed for other data or another reference, but this run directory already has checkpoints; use another --out");
        }
        else if (_checkpoints.Latest() is not null)
        {
            throw new DataFormatException(ReferencePath, "file",
                "is missing, but this run directory has checkpoints: the reference of the original start cannot be recomputed; use another --out");
        }

        var values = ScorePairs(examples, adapterEnabled: _options.Reference == DpoReference.Start);
        ReferenceLogProbsFile.Write(ReferencePath, new ReferenceLogProbsFile(_options.Reference.ToString().ToLowerInvariant(), fingerprint, values));
        return values;
    }

    /// <summary>Scores every pair with the current policy against the stored reference.</summary>
    public PreferenceEvaluation EvaluatePreferences(IReadOnlyList<DpoExample> examples, (double Chosen, double Rejected)[] reference)
    {
        double beta = _options.Dpo.Beta, chosen = 0, rejected = 0, accurate = 0;
        (double Chosen, double Rejected)[] policy = ScorePairs(examples, adapterEnabled: true);
        for (int i = 0; i < examples.Count; i++)
        {
            double c = beta * (policy[i].Chosen - reference[i].Chosen), r = beta * (policy[i].Rejected - reference[i].Rejected);
            chosen += c;
            rejected += r;
            if (c > r) accurate++;
        }
        int n = examples.Count;
        return new PreferenceEvaluation(n, chosen / n, rejected / n, (chosen - rejected) / n, accurate / n);
    }

    /// <summary>Summed continuation log-probs of both sides of every pair, a micro-batch of pairs per backend call.</summary>
    private (double Chosen, double Rejected)[] ScorePairs(IReadOnlyList<DpoExample> examples, bool adapterEnabled)
    {
        var values = new (double, double)[examples.Count];
        int chunk = Math.Max(1, _options.MicroBatchSize);
        for (int start = 0; start < examples.Count; start += chunk)
        {
            int count = Math.Min(chunk, examples.Count - start);
            var sequences = new List<TrainingSequence>(2 * count);
            for (int i = start; i < start + count; i++)
            {
                sequences.Add(examples[i].Chosen);
                sequences.Add(examples[i].Rejected);
            }
            double[] sums = _backend.SequenceLogProbs(sequences, adapterEnabled);
            for (int i = 0; i < count; i++)
                values[start + i] = (sums[2 * i], sums[2 * i + 1]);
        }
        return values;
    }

    private static IReadOnlyList<IReadOnlyList<T>> Chunk<T>(int[] indices, int size, Func<int, T> select)
    {
        var chunks = new List<IReadOnlyList<T>>();
        for (int start = 0; start < indices.Length; start += size)
            chunks.Add(indices[start..Math.Min(indices.Length, start + size)].Select(select).ToList());
        return chunks;
    }
}
