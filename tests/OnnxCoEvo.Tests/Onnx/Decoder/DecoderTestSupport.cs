using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

/// <summary>Small decoder configs, seeded random weights, the CPU reference's logits, and one decoder step through ORT.</summary>
internal static class DecoderTestSupport
{
    public static readonly OrtSessionSettings OneThread = new() { IntraOpThreads = 1, InterOpThreads = 1 };

    /// <summary>The tiny preset's shape (head_dim 32: GroupQueryAttention) with a short context.</summary>
    public static ModelConfig Tiny => ModelPresets.Get("tiny").Config with { VocabSize = 96, MaxPositionEmbeddings = 64, NumHiddenLayers = 2 };

    /// <summary>head_dim 8: ORT's CPU rotary refuses it, so the builder falls back to standard ops.</summary>
    public static ModelConfig HeadDim8 => Tiny with { HiddenSize = 32, IntermediateSize = 48, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8 };

    /// <summary>Qwen2 with q/k/v biases, untied head, head_dim 16.</summary>
    public static ModelConfig Qwen2 => Tiny with
    {
        ModelType = ModelConfig.Qwen2, HiddenSize = 64, IntermediateSize = 96, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        HeadDim = 16, TieWordEmbeddings = false, RopeTheta = 1_000_000, RmsNormEps = 1e-6,
    };

    /// <summary>Mistral with a 4-token sliding window.</summary>
    public static ModelConfig Mistral => Qwen2 with { ModelType = ModelConfig.Mistral, SlidingWindow = 4, TieWordEmbeddings = true };

    /// <summary>Llama with attention_bias (q/k/v/o biases) and llama3 RoPE scaling.</summary>
    public static ModelConfig LlamaBiasScaled => Qwen2 with
    {
        ModelType = ModelConfig.Llama, AttentionBias = true,
        RopeScaling = new RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 16),
    };

    /// <summary>Weights N(0, std), norms 1 + N(0, 0.1), biases N(0, 0.1): everything the graph reads is non-trivial.</summary>
    public static ParameterSet RandomParameters(ModelConfig config, ulong seed, double std = 0.08)
    {
        var parameters = new ParameterSet();
        foreach ((string name, long[] shape) in config.TensorLayout())
        {
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            bool norm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            bool bias = name.EndsWith(".bias", StringComparison.Ordinal);
            DeterministicRandom.FillNormal(values, DeterministicRandom.DeriveSeed(seed, name), norm ? 1 : 0, norm || bias ? 0.1 : std);
            parameters.Add(new Parameter(name, shape.Select(d => (int)d).ToArray(), values, trainable: false));
        }
        return parameters;
    }

    /// <summary>Adds LoRA factors with both A and B random (a fresh PEFT B is zero, which would test nothing).</summary>
    public static void AddRandomLora(ParameterSet parameters, ModelConfig config, LoraConfig lora, ulong seed)
    {
        LlamaCpuModel.AddLoraParameters(parameters, config, lora, seed);
        foreach ((string name, _) in lora.FactorLayout(config))
            if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal))
                DeterministicRandom.FillNormal(parameters[name].Value, DeterministicRandom.DeriveSeed(seed, name), 0, 0.05);
    }

    public static int[][] RandomSequences(int vocab, ulong seed, params int[] lengths)
    {
        var random = new Xoshiro256StarStar(seed);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => (int)(random.NextUInt64() % (ulong)vocab)).ToArray()).ToArray();
    }

    /// <summary>The reference's logits, one [length, vocab] array per sequence.</summary>
    public static float[][] ReferenceLogits(LlamaCpuModel model, int[][] sequences)
    {
        var batch = PackedBatch.Pack(sequences.Select(s => new TrainingSequence(s, new bool[s.Length])).ToList(), model.Config.VocabSize);
        float[] logits = model.Logits(batch);
        int vocab = model.Config.VocabSize;
        return Enumerable.Range(0, sequences.Length)
            .Select(q => logits.AsSpan(batch.SequenceStarts[q] * vocab, sequences[q].Length * vocab).ToArray()).ToArray();
    }

    /// <summary>
    /// Largest |onnx - reference| over the compared rows, divided by the largest |reference| there (the logits' scale),
    /// so the number reads as "error relative to the size of the logits".
    /// </summary>
    public static double RelativeError(IEnumerable<(float[] Onnx, float[] Reference)> rows)
    {
        double maxDiff = 0, maxRef = 1e-6;
        foreach ((float[] onnx, float[] reference) in rows)
        {
            Assert.Equal(reference.Length, onnx.Length);
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(float.IsFinite(onnx[i]), $"ONNX logit {i} is {onnx[i]}");
                maxDiff = Math.Max(maxDiff, Math.Abs(onnx[i] - reference[i]));
                maxRef = Math.Max(maxRef, Math.Abs(reference[i]));
            }
        }
        return maxDiff / maxRef;
    }
}

/// <summary>One decoder run's results: logits [B, S, vocab] and present key/value [B, kvN, T, H] per layer.</summary>
internal sealed record DecoderStep(float[] Logits, int Batch, int Sequence, int Vocab, float[][] PresentKeys, float[][] PresentValues, long[] PresentShape)
{
    public float[] Row(int b, int s) => Logits.AsSpan((b * Sequence + s) * Vocab, Vocab).ToArray();
}

/// <summary>Runs a built decoder through ORT with explicit past tensors (the non-shared KV mode).</summary>
internal sealed class DecoderRunner(OrtInferenceSession session, ModelConfig config) : IDisposable
{
    public OrtInferenceSession Session => session;

    /// <summary>
    /// One run: ids [B, S], mask [B, T], past [B, kvN, T - S, H] per layer (null: empty), optional LoRA feeds.
    /// </summary>
    public DecoderStep Run(long[] ids, int batch, long[] mask, DecoderStep? past = null, IReadOnlyList<NamedTensor>? lora = null)
    {
        int sequence = ids.Length / batch, total = mask.Length / batch, pastLength = total - sequence;
        int kv = config.NumKeyValueHeads, h = config.HeadDim;
        var values = new List<OrtValue>();
        var inputs = new List<KeyValuePair<string, OrtValue>>();
        void Add<T>(string name, T[] data, params long[] shape) where T : unmanaged
        {
            var value = OrtValue.FromMemory<T>(data, shape);
            values.Add(value);
            inputs.Add(new(name, value));
        }
        try
        {
            Add(DecoderIo.InputIds, ids, batch, sequence);
            Add(DecoderIo.AttentionMask, mask, batch, total);
            for (int i = 0; i < config.NumHiddenLayers; i++)
            {
                Assert.True(past is null || past.PresentShape[2] == pastLength, "past length must be the mask's width minus the new tokens");
                Add(DecoderIo.PastKey(i), past?.PresentKeys[i] ?? [], batch, kv, pastLength, h);
                Add(DecoderIo.PastValue(i), past?.PresentValues[i] ?? [], batch, kv, pastLength, h);
            }
            foreach (NamedTensor tensor in lora ?? [])
                Add(tensor.Name, tensor.Values, tensor.LongShape);

            var outputNames = new List<string> { DecoderIo.Logits };
            for (int i = 0; i < config.NumHiddenLayers; i++)
            {
                outputNames.Add(DecoderIo.PresentKey(i));
                outputNames.Add(DecoderIo.PresentValue(i));
            }
            OrtValue[] outputs = session.Run(inputs, outputNames);
            try
            {
                Assert.Equal([batch, sequence, config.VocabSize], outputs[0].Shape);
                long[] presentShape = outputs[1].Shape;
                return new DecoderStep(outputs[0].AsSpan<float>().ToArray(), batch, sequence, config.VocabSize,
                    Enumerable.Range(0, config.NumHiddenLayers).Select(i => outputs[1 + 2 * i].AsSpan<float>().ToArray()).ToArray(),
                    Enumerable.Range(0, config.NumHiddenLayers).Select(i => outputs[2 + 2 * i].AsSpan<float>().ToArray()).ToArray(),
                    presentShape);
            }
            finally
            {
                foreach (OrtValue output in outputs)
                    output.Dispose();
            }
        }
        finally
        {
            foreach (OrtValue value in values)
                value.Dispose();
        }
    }

    /// <summary>Right-padded ids [B, S] and mask [B, S] for sequences of different lengths (pad id 0, mask 0).</summary>
    public static (long[] Ids, long[] Mask, int Width) Pad(int[][] sequences)
    {
        int width = sequences.Max(s => s.Length);
        var ids = new long[sequences.Length * width];
        var mask = new long[sequences.Length * width];
        for (int b = 0; b < sequences.Length; b++)
        {
            for (int t = 0; t < sequences[b].Length; t++)
            {
                ids[b * width + t] = sequences[b][t];
                mask[b * width + t] = 1;
            }
        }
        return (ids, mask, width);
    }

    public void Dispose() => session.Dispose();
}
