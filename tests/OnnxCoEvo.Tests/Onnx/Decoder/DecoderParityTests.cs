using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;
using Xunit.Abstractions;
using static OnnxCoEvo.Tests.Onnx.Decoder.DecoderTestSupport;

namespace OnnxCoEvo.Tests.Onnx.Decoder;

/// <summary>
/// The ONNX decoder run by ONNX Runtime against the fp32 CPU reference (LlamaCpuModel) on the same weights. Error =
/// max |onnx - reference| / max |reference| over every real (unpadded) position: relative to the logits' scale.
/// </summary>
public sealed class DecoderParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, DecoderAttention> Cases => new()
    {
        { "tiny", DecoderAttention.GroupQueryAttention },
        { "tiny", DecoderAttention.StandardOps },
        { "head_dim_8", DecoderAttention.Auto },
        { "qwen2", DecoderAttention.GroupQueryAttention },
        { "qwen2", DecoderAttention.StandardOps },
        { "mistral_window_4", DecoderAttention.GroupQueryAttention },
        { "mistral_window_4", DecoderAttention.StandardOps },
        { "llama_bias_llama3_rope", DecoderAttention.GroupQueryAttention },
    };

    private static ModelConfig ConfigOf(string name) => name switch
    {
        "tiny" => Tiny,
        "head_dim_8" => HeadDim8,
        "qwen2" => Qwen2,
        "mistral_window_4" => Mistral,
        "llama_bias_llama3_rope" => LlamaBiasScaled,
        _ => throw new ArgumentException(name),
    };

    private static (DecoderRunner Runner, LlamaCpuModel Reference) Build(ModelConfig config, DecoderAttention attention, ParameterSet parameters, LoraConfig? lora = null)
    {
        OnnxModel model;
        using (DecoderWeights weights = DecoderWeights.FromParameters(parameters))
            model = OnnxDecoderBuilder.Build(config, weights, new OnnxDecoderOptions { Attention = attention });
        var session = OrtInferenceSession.FromBytes(model.ToBytes(), OneThread);
        return (new DecoderRunner(session, config), new LlamaCpuModel(config, parameters, lora));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Padded_prefill_then_decode_steps_match_the_reference(string name, DecoderAttention attention)
    {
        ModelConfig config = ConfigOf(name);
        (DecoderRunner runner, LlamaCpuModel reference) = Build(config, attention, RandomParameters(config, seed: 3));
        using DecoderRunner owned = runner;
        int[][] sequences = RandomSequences(config.VocabSize, 5, 7, 3, 5);

        // Prefill: three sequences right-padded into one batch.
        (long[] ids, long[] mask, int width) = DecoderRunner.Pad(sequences);
        DecoderStep step = runner.Run(ids, sequences.Length, mask);
        float[][] expected = ReferenceLogits(reference, sequences);
        double prefillError = RelativeError(sequences.SelectMany((s, b) => Enumerable.Range(0, s.Length).Select(t => (step.Row(b, t), expected[b].AsSpan(t * config.VocabSize, config.VocabSize).ToArray()))));

        // Decode: one new token per sequence per step, past = the previous present; each equals the full recompute.
        double decodeError = 0;
        var random = new Xoshiro256StarStar(9);
        for (int k = 0; k < 3; k++)
        {
            long[] next = sequences.Select(_ => (long)(random.NextUInt64() % (ulong)config.VocabSize)).ToArray();
            sequences = sequences.Select((s, b) => s.Append((int)next[b]).ToArray()).ToArray();
            width++;
            mask = Extend(mask, sequences.Length, width - 1);
            step = runner.Run(next, sequences.Length, mask, step);
            expected = ReferenceLogits(reference, sequences);
            decodeError = Math.Max(decodeError, RelativeError(sequences.Select((s, b) => (step.Row(b, 0), expected[b].AsSpan((s.Length - 1) * config.VocabSize, config.VocabSize).ToArray()))));
        }
        output.WriteLine($"{name} {attention}: prefill error {prefillError:E2}, decode error {decodeError:E2}");
        Assert.True(prefillError < Tolerance, $"prefill error {prefillError}");
        Assert.True(decodeError < Tolerance, $"decode error {decodeError}");
    }

    [Theory]
    [InlineData(DecoderAttention.GroupQueryAttention, 1)]
    [InlineData(DecoderAttention.StandardOps, 2)]
    public void A_multi_token_continuation_after_a_past_matches_the_reference(DecoderAttention attention, int batch)
    {
        // Prefix reuse: the cached prefix is the past, several new tokens arrive in one run.
        ModelConfig config = Mistral; // window 4 < 9 tokens: the window also spans past and new tokens
        (DecoderRunner runner, LlamaCpuModel reference) = Build(config, attention, RandomParameters(config, seed: 8));
        using DecoderRunner owned = runner;
        int[][] prefixes = RandomSequences(config.VocabSize, 14, Enumerable.Repeat(5, batch).ToArray());
        int[][] continuations = RandomSequences(config.VocabSize, 15, Enumerable.Repeat(4, batch).ToArray());
        (long[] ids, long[] mask, _) = DecoderRunner.Pad(prefixes);
        DecoderStep past = runner.Run(ids, batch, mask);
        long[] next = continuations.SelectMany(c => c.Select(t => (long)t)).ToArray();
        DecoderStep step = runner.Run(next, batch, Enumerable.Repeat(1L, batch * 9).ToArray(), past);

        int[][] full = prefixes.Select((p, b) => p.Concat(continuations[b]).ToArray()).ToArray();
        float[][] expected = ReferenceLogits(reference, full);
        int vocab = config.VocabSize;
        double error = RelativeError(Enumerable.Range(0, batch).SelectMany(b => Enumerable.Range(0, 4)
            .Select(s => (step.Row(b, s), expected[b].AsSpan((5 + s) * vocab, vocab).ToArray()))));
        output.WriteLine($"continuation {attention} batch {batch}: error {error:E2}");
        Assert.True(error < Tolerance, $"error {error}");
    }

    [Fact]
    public void Group_query_attention_refuses_a_multi_token_continuation_of_a_batch()
    {
        // ORT 1.30's CPU GroupQueryAttention: with a past, several new tokens need batch 1 (callers split the batch).
        ModelConfig config = Tiny;
        (DecoderRunner runner, _) = Build(config, DecoderAttention.GroupQueryAttention, RandomParameters(config, seed: 8));
        using DecoderRunner owned = runner;
        DecoderStep past = runner.Run([1, 2, 3, 4], 2, [1, 1, 1, 1]);
        var error = Assert.Throws<OnnxCoEvo.Onnx.Native.OrtException>(() => runner.Run([5, 6, 7, 8], 2, [1, 1, 1, 1, 1, 1, 1, 1], past));
        Assert.Contains("batch_size must be 1", error.Message);
    }

    [Fact]
    public void Group_query_attention_with_one_kv_buffer_bound_as_past_and_present_matches_the_reference()
    {
        // GenAI's past_present_share_buffer mode: one (B, kvN, max, H) buffer per layer, new rows written in place.
        ModelConfig config = Tiny;
        (DecoderRunner runner, LlamaCpuModel reference) = Build(config, DecoderAttention.GroupQueryAttention, RandomParameters(config, seed: 4));
        using DecoderRunner owned = runner;
        const int Max = 12;
        int[][] sequences = RandomSequences(config.VocabSize, 6, 4, 2);
        int batch = sequences.Length, layers = config.NumHiddenLayers;
        long[] kvShape = [batch, config.NumKeyValueHeads, Max, config.HeadDim];
        var buffers = new List<OrtValue>();
        using OrtIoBinding binding = runner.Session.CreateBinding();
        binding.BindOutputToCpu(DecoderIo.Logits);
        for (int i = 0; i < layers; i++)
        {
            foreach ((string past, string present) in new[] { (DecoderIo.PastKey(i), DecoderIo.PresentKey(i)), (DecoderIo.PastValue(i), DecoderIo.PresentValue(i)) })
            {
                var buffer = OrtValue.FromMemory<float>(new float[kvShape.Aggregate(1L, (a, d) => a * d)], kvShape);
                buffers.Add(buffer);
                binding.BindInput(past, buffer);
                binding.BindOutput(present, buffer);
            }
        }
        try
        {
            float[] Step(long[] ids, long[] mask)
            {
                using var idsValue = OrtValue.FromMemory<long>(ids, [batch, ids.Length / batch]);
                using var maskValue = OrtValue.FromMemory<long>(mask, [batch, mask.Length / batch]);
                binding.BindInput(DecoderIo.InputIds, idsValue);
                binding.BindInput(DecoderIo.AttentionMask, maskValue);
                // After a run the logits binding holds that run's tensor; re-binding lets ORT allocate this run's shape.
                binding.BindOutputToCpu(DecoderIo.Logits);
                runner.Session.Run(binding);
                OrtValue[] outputs = binding.GetOutputs();
                try
                {
                    Assert.Equal([batch, ids.Length / batch, config.VocabSize], outputs[0].Shape);
                    return outputs[0].AsSpan<float>().ToArray();
                }
                finally
                {
                    foreach (OrtValue value in outputs)
                        value.Dispose();
                }
            }

            (long[] ids, long[] mask, int width) = DecoderRunner.Pad(sequences);
            float[] logits = Step(ids, mask);
            float[][] expected = ReferenceLogits(reference, sequences);
            int vocab = config.VocabSize;
            double error = RelativeError(sequences.SelectMany((s, b) => Enumerable.Range(0, s.Length)
                .Select(t => (logits.AsSpan((b * width + t) * vocab, vocab).ToArray(), expected[b].AsSpan(t * vocab, vocab).ToArray()))));
            var random = new Xoshiro256StarStar(10);
            for (int k = 0; k < 4; k++)
            {
                long[] next = sequences.Select(_ => (long)(random.NextUInt64() % (ulong)vocab)).ToArray();
                sequences = sequences.Select((s, b) => s.Append((int)next[b]).ToArray()).ToArray();
                mask = Extend(mask, batch, width++);
                logits = Step(next, mask);
                expected = ReferenceLogits(reference, sequences);
                error = Math.Max(error, RelativeError(sequences.Select((s, b) => (logits.AsSpan(b * vocab, vocab).ToArray(), expected[b].AsSpan((s.Length - 1) * vocab, vocab).ToArray()))));
            }
            output.WriteLine($"shared KV buffer: error {error:E2}");
            Assert.True(error < Tolerance, $"error {error}");
        }
        finally
        {
            foreach (OrtValue buffer in buffers)
                buffer.Dispose();
        }
    }

    [Theory]
    [InlineData(DecoderAttention.GroupQueryAttention, false)]
    [InlineData(DecoderAttention.StandardOps, true)]
    public void Lora_inputs_fed_from_a_peft_adapter_match_the_reference_with_that_adapter(DecoderAttention attention, bool rsLora)
    {
        ModelConfig config = Qwen2;
        var lora = new LoraConfig { Rank = 3, Alpha = 6, UseRsLora = rsLora, TargetModules = rsLora ? ["q_proj", "v_proj", "o_proj", "down_proj"] : LoraConfig.AllTargetModules };
        ParameterSet parameters = RandomParameters(config, seed: 5);
        AddRandomLora(parameters, config, lora, seed: 6);
        (DecoderRunner runner, LlamaCpuModel reference) = Build(config, attention, parameters, lora);
        using DecoderRunner owned = runner;
        var adapter = OnnxCoEvo.Training.Peft.PeftAdapter.FromParameters(parameters, lora, config);
        IReadOnlyList<NamedTensor> feeds = DecoderLoraInputs.FromPeft(adapter, config);
        Assert.Equal(DecoderLoraInputs.Names(config), feeds.Select(f => f.Name));

        int[][] sequences = RandomSequences(config.VocabSize, 7, 6, 4);
        (long[] ids, long[] mask, _) = DecoderRunner.Pad(sequences);
        DecoderStep adapted = runner.Run(ids, sequences.Length, mask, lora: feeds);
        float[][] expected = ReferenceLogits(reference, sequences);
        double error = RelativeError(Rows(adapted, sequences, expected, config.VocabSize));

        // Without the feeds the rank-0 defaults leave the base model, which the adapter visibly changes.
        DecoderStep plain = runner.Run(ids, sequences.Length, mask);
        reference.AdapterEnabled = false;
        float[][] baseExpected = ReferenceLogits(reference, sequences);
        double baseError = RelativeError(Rows(plain, sequences, baseExpected, config.VocabSize));
        double adapterEffect = RelativeError(Rows(plain, sequences, expected, config.VocabSize));
        output.WriteLine($"LoRA {attention} rsLoRA={rsLora}: error {error:E2}; no feed vs base {baseError:E2}; adapter moves logits by {adapterEffect:E2}");
        Assert.True(error < Tolerance, $"error {error}");
        Assert.True(baseError < Tolerance, $"base error {baseError}");
        Assert.True(adapterEffect > 100 * Tolerance, $"the adapter barely changes the logits ({adapterEffect}); the test would not see a wrong mapping");
    }

    private static IEnumerable<(float[], float[])> Rows(DecoderStep step, int[][] sequences, float[][] expected, int vocab) =>
        sequences.SelectMany((s, b) => Enumerable.Range(0, s.Length).Select(t => (step.Row(b, t), expected[b].AsSpan(t * vocab, vocab).ToArray())));

    /// <summary>mask [B, width] -> [B, width + 1] with a 1 appended to each row.</summary>
    private static long[] Extend(long[] mask, int batch, int width)
    {
        var extended = new long[batch * (width + 1)];
        for (int b = 0; b < batch; b++)
        {
            Array.Copy(mask, b * width, extended, b * (width + 1), width);
            extended[b * (width + 1) + width] = 1;
        }
        return extended;
    }
}
