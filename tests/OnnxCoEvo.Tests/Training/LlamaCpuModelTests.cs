using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Tests.Native;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Training;

/// <summary>
/// The whole Llama-family model on tiny configs (2 layers, hidden 16, 4 heads over 2 kv heads, vocab 50): gradients
/// against finite differences in LoRA and full fine-tune modes, tied and untied heads, and the consistency of its
/// outputs. Finite differences: 4 sampled entries per trainable tensor, step 1e-2, tolerance 2e-3 absolute + 2e-2
/// relative (loss = sum_t r_t logp_t over ~10 scored tokens, whose fp32 noise is about 1e-5).
/// </summary>
public sealed class LlamaCpuModelTests
{
    private static readonly LoraConfig Adapter = new() { Rank = 2, Alpha = 4 };

    [Theory]
    [InlineData(ModelConfig.Llama, false, true)] // q/k/v/o biases, untied head, LoRA
    [InlineData(ModelConfig.Llama, false, false)]
    [InlineData(ModelConfig.Qwen2, true, true)] // q/k/v biases, tied head, LoRA
    [InlineData(ModelConfig.Qwen2, true, false)] // tied: the embedding gets the head's and the lookup's gradients
    [InlineData(ModelConfig.Mistral, false, false)] // sliding window 3, llama3 RoPE scaling
    public void Backward_MatchesFiniteDifferences(string modelType, bool tied, bool lora)
    {
        ModelConfig config = TinyConfig(modelType, tied);
        LlamaCpuModel model = CreateModel(config, lora, seed: 1);
        PackedBatch batch = Batch(config.VocabSize);
        float[] weights = Parity.Uniform(99, batch.TokenCount);
        model.Backward(model.Forward(batch, keepActivations: true), weights);

        double Loss() => FiniteDifference.WeightedSum(model.Forward(batch, keepActivations: false).TokenLogProbs, weights);
        int seed = 0;
        foreach (Parameter parameter in model.Parameters.Trainable)
        {
            // Embedding rows of tokens outside the batch have no gradient: sample the rows the batch uses.
            IEnumerable<int> entries = parameter.Name == "model.embed_tokens.weight"
                ? batch.TokenIds.Distinct().Take(4).Select(id => id * config.HiddenSize + (seed++ % config.HiddenSize))
                : FiniteDifference.Sample(parameter.Length, 4, seed++);
            if (tied && parameter.Name == "model.embed_tokens.weight")
                entries = entries.Concat(FiniteDifference.Sample(parameter.Length, 4, seed++));
            FiniteDifference.Check(parameter.Name, parameter.Value, parameter.Grad, entries, Loss,
                relativeStep: 1e-2, absoluteTolerance: 2e-3, relativeTolerance: 2e-2);
        }

        Assert.Equal(lora ? 2 * 7 * config.NumHiddenLayers : config.TensorLayout().Count, model.Parameters.Trainable.Count);
        if (lora)
            Assert.All(model.Parameters.Where(p => !p.Name.Contains(".lora_")), p => Assert.Empty(p.Grad));
    }

    [Fact]
    public void Backward_AddsIntoGradients_AndIsBitIdenticalRunToRun()
    {
        ModelConfig config = TinyConfig(ModelConfig.Llama, tied: false);
        LlamaCpuModel first = CreateModel(config, lora: false, seed: 2);
        LlamaCpuModel second = CreateModel(config, lora: false, seed: 2);
        PackedBatch batch = Batch(config.VocabSize);
        float[] weights = Parity.Uniform(98, batch.TokenCount);
        first.Backward(first.Forward(batch, keepActivations: true), weights);
        second.Backward(second.Forward(batch, keepActivations: true), weights);
        for (int i = 0; i < first.Parameters.Count; i++)
            Assert.Equal(first.Parameters[i].Grad, second.Parameters[i].Grad);

        float[][] once = first.Parameters.Select(p => (float[])p.Grad.Clone()).ToArray();
        first.Backward(first.Forward(batch, keepActivations: true), weights);
        for (int i = 0; i < once.Length; i++)
            for (int j = 0; j < once[i].Length; j++)
                Assert.Equal(2.0 * once[i][j], first.Parameters[i].Grad[j], 1e-5 * (1 + Math.Abs(once[i][j])));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Logits_AgreeWithTokenLogProbs(bool tied, bool lora)
    {
        ModelConfig config = TinyConfig(ModelConfig.Qwen2, tied);
        LlamaCpuModel model = CreateModel(config, lora, seed: 3);
        PackedBatch batch = Batch(config.VocabSize);
        float[] logProbs = model.Forward(batch, keepActivations: false).TokenLogProbs;
        float[] logits = model.Logits(batch);
        Assert.Equal(batch.TokenCount * config.VocabSize, logits.Length);
        for (int t = 0; t < batch.TokenCount; t++)
        {
            if (!batch.LossMask[t])
            {
                Assert.Equal(0f, logProbs[t]);
                continue;
            }
            ReadOnlySpan<float> row = logits.AsSpan(t * config.VocabSize, config.VocabSize);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float z in row) max = Math.Max(max, z);
            foreach (float z in row) sum += Math.Exp(z - max);
            Assert.Equal(row[batch.TargetIds[t]] - max - Math.Log(sum), logProbs[t], 1e-5);
        }
    }

    [Fact]
    public void FreshLora_WithZeroB_EqualsTheBaseModel()
    {
        ModelConfig config = TinyConfig(ModelConfig.Llama, tied: false);
        ParameterSet baseParameters = RandomParameters(config, seed: 4, trainable: false);
        var baseModel = new LlamaCpuModel(config, baseParameters, lora: null);
        var withAdapter = new ParameterSet();
        foreach (Parameter p in baseParameters)
            withAdapter.Add(p);
        LlamaCpuModel.AddLoraParameters(withAdapter, config, Adapter, seed: 5);
        var adapted = new LlamaCpuModel(config, withAdapter, Adapter);
        PackedBatch batch = Batch(config.VocabSize);
        // B = 0 adds exact zeros: bit-identical.
        Assert.Equal(baseModel.Forward(batch, keepActivations: false).TokenLogProbs, adapted.Forward(batch, keepActivations: false).TokenLogProbs);
        Assert.Equal(baseModel.Logits(batch), adapted.Logits(batch));
    }

    [Fact]
    public void AdapterDisabled_EqualsTheBaseModel_AndBackwardLeavesLoraGradientsAlone()
    {
        ModelConfig config = TinyConfig(ModelConfig.Qwen2, tied: true);
        LlamaCpuModel adapted = CreateModel(config, lora: true, seed: 6);
        var baseOnly = new ParameterSet();
        foreach (Parameter p in adapted.Parameters.Where(p => !p.Name.Contains(".lora_")))
            baseOnly.Add(p);
        var baseModel = new LlamaCpuModel(config, baseOnly, lora: null);
        PackedBatch batch = Batch(config.VocabSize);

        float[] withAdapter = adapted.Forward(batch, keepActivations: false).TokenLogProbs;
        adapted.AdapterEnabled = false;
        LlamaForwardPass pass = adapted.Forward(batch, keepActivations: true);
        Assert.Equal(baseModel.Forward(batch, keepActivations: false).TokenLogProbs, pass.TokenLogProbs);
        Assert.Equal(baseModel.Logits(batch), adapted.Logits(batch));
        Assert.NotEqual(withAdapter, pass.TokenLogProbs);

        adapted.AdapterEnabled = true; // backward follows the pass, not the current setting
        adapted.Backward(pass, Parity.Uniform(7, batch.TokenCount));
        Assert.All(adapted.Parameters.Trainable, p => Assert.All(p.Grad, g => Assert.Equal(0f, g)));
    }

    [Fact]
    public void AddLoraParameters_NamesShapesAndSeededInit()
    {
        ModelConfig config = TinyConfig(ModelConfig.Llama, tied: false);
        var lora = new LoraConfig { Rank = 3, Alpha = 6, TargetModules = ["v_proj", "down_proj"] };
        var parameters = new ParameterSet();
        LlamaCpuModel.AddLoraParameters(parameters, config, lora, seed: 11);
        Assert.Equal(
        [
            "model.layers.0.self_attn.v_proj.lora_A.weight", "model.layers.0.self_attn.v_proj.lora_B.weight",
            "model.layers.0.mlp.down_proj.lora_A.weight", "model.layers.0.mlp.down_proj.lora_B.weight",
            "model.layers.1.self_attn.v_proj.lora_A.weight", "model.layers.1.self_attn.v_proj.lora_B.weight",
            "model.layers.1.mlp.down_proj.lora_A.weight", "model.layers.1.mlp.down_proj.lora_B.weight",
        ], parameters.Select(p => p.Name));
        Parameter downA = parameters["model.layers.0.mlp.down_proj.lora_A.weight"];
        Assert.Equal([3, config.IntermediateSize], downA.Shape);
        Assert.Equal([config.KeyValueDim, 3], parameters["model.layers.0.self_attn.v_proj.lora_B.weight"].Shape);
        Assert.All(parameters, p => Assert.True(p.Trainable));
        Assert.All(parameters.Where(p => p.Name.EndsWith("lora_B.weight")), p => Assert.All(p.Value, v => Assert.Equal(0f, v)));
        float bound = 1f / MathF.Sqrt(config.IntermediateSize);
        Assert.All(downA.Value, v => Assert.InRange(v, -bound, bound));
        Assert.True(downA.Value.Max() > bound / 2 && downA.Value.Min() < -bound / 2);

        var again = new ParameterSet();
        LlamaCpuModel.AddLoraParameters(again, config, lora, seed: 11);
        var other = new ParameterSet();
        LlamaCpuModel.AddLoraParameters(other, config, lora, seed: 12);
        Assert.Equal(downA.Value, again[downA.Name].Value);
        Assert.NotEqual(downA.Value, other[downA.Name].Value);
    }

    [Fact]
    public void Constructor_NamesTheMissingMisshapenOrUnexpectedTensor()
    {
        ModelConfig config = TinyConfig(ModelConfig.Llama, tied: false);
        ParameterSet complete = RandomParameters(config, seed: 8, trainable: false);

        ParameterSet Without(string name)
        {
            var set = new ParameterSet();
            foreach (Parameter p in complete.Where(p => p.Name != name))
                set.Add(p);
            return set;
        }
        Assert.Contains("'model.layers.1.mlp.up_proj.weight' [32, 16] is missing",
            Assert.Throws<ArgumentException>(() => new LlamaCpuModel(config, Without("model.layers.1.mlp.up_proj.weight"), null)).Message);

        ParameterSet misshapen = Without("lm_head.weight");
        misshapen.Add(new Parameter("lm_head.weight", [config.VocabSize - 1, config.HiddenSize], new float[(config.VocabSize - 1) * config.HiddenSize], false));
        Assert.Contains("'lm_head.weight' has shape [49, 16]", Assert.Throws<ArgumentException>(() => new LlamaCpuModel(config, misshapen, null)).Message);

        ParameterSet withAdapter = Without("");
        LlamaCpuModel.AddLoraParameters(withAdapter, config, Adapter, seed: 1);
        Assert.Contains("is a LoRA factor but the model was given no LoRA config",
            Assert.Throws<ArgumentException>(() => new LlamaCpuModel(config, withAdapter, null)).Message);
        Assert.Contains("'model.layers.0.self_attn.q_proj.lora_A.weight' [2, 16] is missing",
            Assert.Throws<ArgumentException>(() => new LlamaCpuModel(config, complete, Adapter)).Message);

        ModelConfig tiedConfig = config with { TieWordEmbeddings = true };
        Assert.Contains("'lm_head.weight' is not part of this llama model (tied embeddings",
            Assert.Throws<ArgumentException>(() => new LlamaCpuModel(tiedConfig, complete, null)).Message);
    }

    [Fact]
    public void Backward_WithoutKeptActivations_Throws()
    {
        ModelConfig config = TinyConfig(ModelConfig.Llama, tied: true);
        LlamaCpuModel model = CreateModel(config, lora: false, seed: 9);
        PackedBatch batch = Batch(config.VocabSize);
        LlamaForwardPass pass = model.Forward(batch, keepActivations: false);
        Assert.Contains("keepActivations", Assert.Throws<InvalidOperationException>(() => model.Backward(pass, new float[batch.TokenCount])).Message);
        Assert.Throws<ArgumentException>(() => model.Backward(model.Forward(batch, keepActivations: true), new float[batch.TokenCount - 1]));
    }

    internal static ModelConfig TinyConfig(string modelType, bool tied) => new()
    {
        ModelType = modelType,
        HiddenSize = 16,
        IntermediateSize = 32,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 4,
        VocabSize = 50,
        MaxPositionEmbeddings = 64,
        RopeTheta = 10000,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tied,
        AttentionBias = modelType == ModelConfig.Llama,
        SlidingWindow = modelType == ModelConfig.Mistral ? 3 : null,
        // Mistral case: inv_freq [1, 0.01] has wavelengths 6.3 (medium band) and 628 (low band) against original 16.
        RopeScaling = modelType == ModelConfig.Mistral ? new RopeScaling(4, 1, 4, 16) : null,
    };

    /// <summary>Random weights large enough that every block changes the output: linear U(+-2/sqrt(in)), norms 1 +- 0.3.</summary>
    internal static ParameterSet RandomParameters(ModelConfig config, int seed, bool trainable)
    {
        var parameters = new ParameterSet();
        foreach ((string name, long[] shape) in config.TensorLayout())
        {
            int[] dims = shape.Select(d => (int)d).ToArray();
            int count = dims.Aggregate(1, (a, b) => a * b);
            float[] values = name.EndsWith("norm.weight")
                ? Parity.Uniform(seed++, count, scale: 0.3f, offset: 1f)
                : name.EndsWith(".bias")
                    ? Parity.Uniform(seed++, count, scale: 0.2f)
                    : name == "model.embed_tokens.weight"
                        ? Parity.Uniform(seed++, count)
                        : Parity.Uniform(seed++, count, scale: 2f / MathF.Sqrt(dims[1]));
            parameters.Add(new Parameter(name, dims, values, trainable));
        }
        return parameters;
    }

    /// <summary>A model with random base weights; with LoRA, the base is frozen and B is random so the adapter matters.</summary>
    internal static LlamaCpuModel CreateModel(ModelConfig config, bool lora, int seed)
    {
        ParameterSet parameters = RandomParameters(config, seed * 1000, trainable: !lora);
        if (!lora)
            return new LlamaCpuModel(config, parameters, null);
        LlamaCpuModel.AddLoraParameters(parameters, config, Adapter, (ulong)seed);
        foreach (Parameter p in parameters.Where(p => p.Name.EndsWith(".lora_B.weight")))
            Parity.Uniform(seed++, p.Length, scale: 0.5f).CopyTo(p.Value, 0);
        return new LlamaCpuModel(config, parameters, Adapter);
    }

    /// <summary>Three packed sequences (6, 5 and 3 tokens) with some tokens unscored.</summary>
    internal static PackedBatch Batch(int vocab) => PackedBatch.Pack(
    [
        new TrainingSequence([1, 7, 7, 42, 3, 19], [false, true, true, false, true, true]),
        new TrainingSequence([5, 11, 49, 0, 23], [false, false, true, true, true]),
        new TrainingSequence([8, 13, 2], [false, true, true]),
    ], vocab);
}
