using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Peft;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// The fp32 CPU reference (<see cref="LlamaCpuModel"/>) behind <see cref="IDecoderModel"/>: it keeps only each slot's
/// tokens and recomputes every slot's whole sequence on each call (all slots packed into one batch). Quadratic and
/// slow, but exact: the oracle the ONNX decoder and the KV-cache logic are tested against.
/// </summary>
public sealed class ReferenceDecoderModel : IDecoderModel
{
    private readonly LlamaCpuModel _model;
    private readonly Dictionary<int, List<int>> _slots = [];

    public ReferenceDecoderModel(LlamaCpuModel model, int? maxSequenceLength = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        MaxSequenceLength = maxSequenceLength ?? model.Config.MaxPositionEmbeddings;
    }

    /// <summary>Loads a Hugging Face model directory, with a PEFT LoRA adapter applied when given.</summary>
    public static ReferenceDecoderModel Open(string modelDirectory, PeftAdapter? adapter = null)
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(modelDirectory, ModelConfig.FileName));
        ParameterSet parameters = LlamaCpuModel.LoadBaseParameters(modelDirectory, config, trainable: false);
        if (adapter is not null)
        {
            LlamaCpuModel.AddLoraParameters(parameters, config, adapter.Config, seed: 0);
            adapter.ApplyTo(parameters);
        }
        return new ReferenceDecoderModel(new LlamaCpuModel(config, parameters, adapter?.Config));
    }

    public int VocabSize => _model.Config.VocabSize;

    public int MaxSequenceLength { get; }

    public int CachedLength(int slot) => _slots.TryGetValue(slot, out List<int>? tokens) ? tokens.Count : 0;

    public void Truncate(int slot, int length)
    {
        DecoderChecks.Truncation(slot, length, CachedLength(slot));
        if (_slots.TryGetValue(slot, out List<int>? tokens))
            tokens.RemoveRange(length, tokens.Count - length);
    }

    public void Release(int slot) => _slots.Remove(slot);

    public void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits)
    {
        DecoderChecks.Steps(this, steps, logits, CachedLength);
        var sequences = new List<TrainingSequence>(steps.Count);
        foreach (DecoderStep step in steps)
        {
            if (!_slots.TryGetValue(step.Slot, out List<int>? tokens))
                _slots[step.Slot] = tokens = [];
            tokens.AddRange(step.Tokens.Span);
            sequences.Add(new TrainingSequence([.. tokens], new bool[tokens.Count]));
        }
        PackedBatch batch = PackedBatch.Pack(sequences, VocabSize);
        float[] all = _model.Logits(batch);
        for (int i = 0; i < steps.Count; i++)
        {
            int last = batch.SequenceStarts[i + 1] - 1;
            all.AsSpan(last * VocabSize, VocabSize).CopyTo(logits.Slice(i * VocabSize, VocabSize));
        }
    }

    public void Dispose() => _slots.Clear();
}
