using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Backends;

/// <summary>How to build a <see cref="CpuTrainerBackend"/>.</summary>
public sealed record CpuTrainerBackendOptions
{
    public required string ModelDirectory { get; init; }

    /// <summary>The model's config.json, when already loaded.</summary>
    public ModelConfig? Config { get; init; }

    /// <summary>null: full fine-tune, every weight trainable.</summary>
    public LoraConfig? Lora { get; init; }

    /// <summary>Seeds the adapter's initial A matrices.</summary>
    public ulong Seed { get; init; }

    public float WeightDecay { get; init; }

    /// <summary>Most tokens packed into one forward pass when only scoring (no gradients kept).</summary>
    public int ScoringTokensPerPass { get; init; } = 8192;
}

/// <summary>
/// The fp32 CPU reference backend: <see cref="LlamaCpuModel"/> for forward/backward, the losses of
/// <see cref="Losses"/>, global-norm clipping and <see cref="AdamW"/>. Micro-batches are packed (no padding), gradients
/// accumulate across them, and every normaliser is the whole optimizer step's count. Deterministic: the same inputs
/// give bit-identical weights, which is what makes checkpoint resume exact.
/// </summary>
public sealed class CpuTrainerBackend : ITrainerBackend
{
    private readonly LlamaCpuModel _model;
    private readonly AdamW _optimizer;
    private readonly int _scoringTokensPerPass;

    private CpuTrainerBackend(LlamaCpuModel model, AdamW optimizer, int scoringTokensPerPass)
    {
        _model = model;
        _optimizer = optimizer;
        _scoringTokensPerPass = scoringTokensPerPass;
    }

    public static CpuTrainerBackend Create(CpuTrainerBackendOptions options)
    {
        ModelConfig config = options.Config ?? ModelConfig.Load(Path.Combine(options.ModelDirectory, ModelConfig.FileName));
        options.Lora?.Validate();
        ParameterSet parameters = LlamaCpuModel.LoadBaseParameters(options.ModelDirectory, config, trainable: options.Lora is null);
        if (options.Lora is not null)
            LlamaCpuModel.AddLoraParameters(parameters, config, options.Lora, options.Seed);
        return FromParameters(config, parameters, options.Lora, options.WeightDecay, options.ScoringTokensPerPass);
    }

    /// <summary>A backend over parameters already in memory (tests, recipes holding two adapters on one base).</summary>
    public static CpuTrainerBackend FromParameters(ModelConfig config, ParameterSet parameters, LoraConfig? lora, float weightDecay = 0,
        int scoringTokensPerPass = 8192)
    {
        var model = new LlamaCpuModel(config, parameters, lora);
        var optimizer = new AdamW(parameters, new AdamWOptions { WeightDecay = weightDecay });
        return new CpuTrainerBackend(model, optimizer, scoringTokensPerPass);
    }

    public string Name => "cpu";

    public ModelConfig Config => _model.Config;

    public LoraConfig? Lora => _model.Lora;

    public long TrainableParameterCount => _model.Parameters.TrainableElementCount;

    /// <summary>The model, for callers that need logits (parity checks, adapter verification).</summary>
    public LlamaCpuModel Model => _model;

    public double[] SequenceLogProbs(IReadOnlyList<TrainingSequence> sequences, bool adapterEnabled = true)
    {
        var sums = new double[sequences.Count];
        bool previous = _model.AdapterEnabled;
        _model.AdapterEnabled = adapterEnabled;
        try
        {
            int start = 0;
            while (start < sequences.Count)
            {
                // Pack as many sequences as fit the scoring budget (at least one).
                int end = start, tokens = 0;
                while (end < sequences.Count && (end == start || tokens + sequences[end].Length <= _scoringTokensPerPass))
                    tokens += sequences[end++].Length;
                var batch = PackedBatch.Pack(Slice(sequences, start, end), Config.VocabSize);
                LlamaForwardPass pass = _model.Forward(batch, keepActivations: false);
                Losses.SequenceLogProbs.Sum(pass.TokenLogProbs, batch.LossMask, batch.SequenceStarts, sums.AsSpan(start, end - start));
                start = end;
            }
        }
        finally
        {
            _model.AdapterEnabled = previous;
        }
        return sums;
    }

    public StepResult SftStep(IReadOnlyList<IReadOnlyList<TrainingSequence>> microBatches, StepSettings settings)
    {
        long scored = microBatches.Sum(mb => mb.Sum(s => (long)s.ScoredTokenCount));
        if (scored == 0)
            throw new ArgumentException("an SFT step needs at least one trained token; every sequence of this step is fully masked");
        _model.Parameters.ZeroGrad();
        double loss = 0;
        long tokens = 0;
        int sequences = 0;
        foreach (var micro in microBatches)
        {
            var batch = PackedBatch.Pack(micro, Config.VocabSize);
            LlamaForwardPass pass = _model.Forward(batch, keepActivations: true);
            var gradient = new float[batch.TokenCount];
            loss += SftLoss.Compute(pass.TokenLogProbs, batch.LossMask, scored, gradient);
            _model.Backward(pass, gradient);
            tokens += batch.TokenCount;
            sequences += batch.SequenceCount;
        }
        if (!double.IsFinite(loss))
            throw Diverged($"the SFT loss is {loss}");
        double norm = ClipAndStep(settings);
        return new StepResult(loss, norm, tokens, scored, sequences);
    }

    public StepResult DpoStep(IReadOnlyList<IReadOnlyList<DpoStepPair>> microBatches, PreferenceLossOptions dpo, StepSettings settings)
    {
        int pairCount = microBatches.Sum(mb => mb.Count);
        if (pairCount == 0)
            throw new ArgumentException("a DPO step needs at least one pair");
        long chosenTokens = microBatches.Sum(mb => mb.Sum(p => (long)p.Chosen.ScoredTokenCount));
        var size = new PreferenceBatchSize(pairCount, chosenTokens);
        _model.Parameters.ZeroGrad();
        PreferenceLossResult total = PreferenceLossResult.Zero;
        long tokens = 0, trained = 0;
        foreach (var micro in microBatches)
        {
            // Chosen and rejected of a pair side by side: sequence 2i is pair i's chosen, 2i + 1 its rejected.
            var sequences = new List<TrainingSequence>(2 * micro.Count);
            foreach (DpoStepPair pair in micro)
            {
                sequences.Add(pair.Chosen);
                sequences.Add(pair.Rejected);
            }
            var batch = PackedBatch.Pack(sequences, Config.VocabSize);
            LlamaForwardPass pass = _model.Forward(batch, keepActivations: true);
            var sums = new double[batch.SequenceCount];
            Losses.SequenceLogProbs.Sum(pass.TokenLogProbs, batch.LossMask, batch.SequenceStarts, sums);

            var logProbs = new PreferenceLogProbs[micro.Count];
            for (int i = 0; i < micro.Count; i++)
                logProbs[i] = new PreferenceLogProbs(sums[2 * i], sums[2 * i + 1], micro[i].ReferenceChosen, micro[i].ReferenceRejected);
            var gradChosen = new double[micro.Count];
            var gradRejected = new double[micro.Count];
            total += PreferenceLoss.Compute(logProbs, dpo, size, gradChosen, gradRejected);

            var sequenceGradients = new double[batch.SequenceCount];
            for (int i = 0; i < micro.Count; i++)
            {
                sequenceGradients[2 * i] = gradChosen[i];
                sequenceGradients[2 * i + 1] = gradRejected[i];
            }
            var tokenGradients = new float[batch.TokenCount];
            Losses.SequenceLogProbs.BroadcastGradient(sequenceGradients, batch.LossMask, batch.SequenceStarts, tokenGradients);
            _model.Backward(pass, tokenGradients);
            tokens += batch.TokenCount;
            trained += batch.ScoredTokenCount;
        }
        if (!double.IsFinite(total.Total))
            throw Diverged($"the DPO loss is {total.Total}");
        double norm = ClipAndStep(settings);
        return new StepResult(total.Total, norm, tokens, trained, 2 * pairCount)
        {
            DpoLoss = total.Dpo,
            SftLoss = dpo.ChosenNllWeight > 0 ? total.ChosenNll : null,
            ChosenReward = total.ChosenReward,
            RejectedReward = total.RejectedReward,
            RewardAccuracy = total.Accuracy,
        };
    }

    private double ClipAndStep(StepSettings settings)
    {
        double norm = settings.MaxGradNorm > 0
            ? GradientClipping.ClipByGlobalNorm(_model.Parameters, settings.MaxGradNorm)
            : GradientClipping.GlobalNorm(_model.Parameters);
        if (!double.IsFinite(norm))
            throw Diverged($"the gradient norm is {norm}");
        _optimizer.Step(settings.LearningRate);
        return norm;
    }

    private TrainingDivergedException Diverged(string what)
    {
        _model.Parameters.ZeroGrad();
        return new TrainingDivergedException(what);
    }

    public IReadOnlyList<(string Name, int[] Shape)> TrainableLayout =>
        _model.Parameters.Where(p => p.Trainable).Select(p => (p.Name, p.Shape)).ToList();

    public IReadOnlyList<(string Name, int[] Shape)> OptimizerLayout => _optimizer.StateLayout.ToList();

    public IReadOnlyList<NamedTensor> GetTrainable() =>
        _model.Parameters.Where(p => p.Trainable).Select(p => new NamedTensor(p.Name, (int[])p.Shape.Clone(), (float[])p.Value.Clone())).ToList();

    public void SetTrainable(IReadOnlyList<NamedTensor> tensors)
    {
        // Check everything before changing anything, so a bad input leaves the model as it was.
        var trainable = _model.Parameters.Where(p => p.Trainable).ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (NamedTensor t in tensors)
        {
            if (!trainable.TryGetValue(t.Name, out Parameter? p))
                throw new ArgumentException($"'{t.Name}' is not a trainable tensor of this model ({(Lora is null ? "full fine-tune" : "LoRA")})");
            if (!p.Shape.AsSpan().SequenceEqual(t.Shape))
                throw new ArgumentException($"'{t.Name}' has shape {TensorShape.Format(t.Shape)} but the model needs {TensorShape.Format(p.Shape)}");
        }
        var missing = trainable.Keys.Except(tensors.Select(t => t.Name)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"{missing.Count} trainable tensor(s) are missing, first '{missing[0]}'");
        foreach (NamedTensor t in tensors)
            t.Values.AsSpan().CopyTo(trainable[t.Name].Value);
    }

    public AdamWState GetOptimizerState() => _optimizer.ExportState();

    public void SetOptimizerState(AdamWState state) => _optimizer.ImportState(state);

    public void Dispose()
    {
    }

    private static List<TrainingSequence> Slice(IReadOnlyList<TrainingSequence> sequences, int start, int end)
    {
        var list = new List<TrainingSequence>(end - start);
        for (int i = start; i < end; i++)
            list.Add(sequences[i]);
        return list;
    }
}
