using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Model;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Training;

/// <summary>
/// LlamaCpuModel's logits against a plain double-precision transcription of Hugging Face's LlamaForCausalLM /
/// Qwen2ForCausalLM / MistralForCausalLM forward, written here independently of the ops (one sequence at a time, no
/// packing, no chunking, dense causal softmax, rotate-half RoPE with HF's llama3 frequency rule, LoRA as
/// W + s B A). Agreement within 1e-4 relative catches a mis-assembled block that finite-difference checks cannot (they
/// only prove the backward matches whatever the forward computes).
/// </summary>
public sealed class LlamaReferenceForwardTests
{
    [Theory]
    [InlineData(ModelConfig.Llama, false, false)]
    [InlineData(ModelConfig.Llama, false, true)]
    [InlineData(ModelConfig.Qwen2, true, true)]
    [InlineData(ModelConfig.Mistral, false, false)]
    public void Logits_equal_a_double_precision_reference(string modelType, bool tied, bool lora)
    {
        ModelConfig config = LlamaCpuModelTests.TinyConfig(modelType, tied);
        LlamaCpuModel model = LlamaCpuModelTests.CreateModel(config, lora, seed: 5);
        PackedBatch batch = LlamaCpuModelTests.Batch(config.VocabSize);
        float[] logits = model.Logits(batch);

        for (int q = 0; q < batch.SequenceCount; q++)
        {
            int start = batch.SequenceStarts[q], length = batch.SequenceLength(q);
            double[,] expected = ReferenceLogits(config, model.Parameters, lora ? model.Lora : null, batch.TokenIds[start..(start + length)]);
            for (int t = 0; t < length; t++)
            {
                double scale = 0;
                for (int v = 0; v < config.VocabSize; v++) scale = Math.Max(scale, Math.Abs(expected[t, v]));
                for (int v = 0; v < config.VocabSize; v++)
                {
                    double actual = logits[(start + t) * config.VocabSize + v];
                    Assert.True(Math.Abs(actual - expected[t, v]) <= 1e-4 * (1 + scale),
                        $"sequence {q} token {t} vocab {v}: {actual} vs reference {expected[t, v]}");
                }
            }
        }
    }

    private static double[,] ReferenceLogits(ModelConfig c, ParameterSet p, LoraConfig? lora, int[] tokens)
    {
        int n = tokens.Length, d = c.HiddenSize, hd = c.HeadDim, heads = c.NumAttentionHeads, kvHeads = c.NumKeyValueHeads;
        double[][] x = tokens.Select(id => Row(p["model.embed_tokens.weight"], id)).ToArray();
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            double[][] h = x.Select(r => Norm(r, p[prefix + "input_layernorm.weight"], c.RmsNormEps)).ToArray();
            double[][] qs = h.Select(r => Project(r, p, lora, layer, "q_proj")).ToArray();
            double[][] ks = h.Select(r => Project(r, p, lora, layer, "k_proj")).ToArray();
            double[][] vs = h.Select(r => Project(r, p, lora, layer, "v_proj")).ToArray();
            double[] invFreq = InverseFrequencies(c);
            for (int t = 0; t < n; t++)
            {
                Rotate(qs[t], heads, hd, t, invFreq);
                Rotate(ks[t], kvHeads, hd, t, invFreq);
            }
            var attention = new double[n][];
            for (int t = 0; t < n; t++)
            {
                attention[t] = new double[heads * hd];
                for (int head = 0; head < heads; head++)
                {
                    int kv = head / (heads / kvHeads);
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int s = 0; s <= t; s++)
                    {
                        bool visible = c.SlidingWindow is not { } window || t - s < window;
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += qs[t][head * hd + i] * ks[s][kv * hd + i];
                        scores[s] = visible ? dot / Math.Sqrt(hd) : double.NegativeInfinity;
                        max = Math.Max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) sum += scores[s] = Math.Exp(scores[s] - max);
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < hd; i++)
                            attention[t][head * hd + i] += scores[s] / sum * vs[s][kv * hd + i];
                }
            }
            for (int t = 0; t < n; t++)
                Add(x[t], Project(attention[t], p, lora, layer, "o_proj"));
            for (int t = 0; t < n; t++)
            {
                double[] m = Norm(x[t], p[prefix + "post_attention_layernorm.weight"], c.RmsNormEps);
                double[] gate = Project(m, p, lora, layer, "gate_proj"), up = Project(m, p, lora, layer, "up_proj");
                double[] hidden = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                Add(x[t], Project(hidden, p, lora, layer, "down_proj"));
            }
        }
        Parameter output = c.TieWordEmbeddings ? p["model.embed_tokens.weight"] : p["lm_head.weight"];
        var logits = new double[n, c.VocabSize];
        for (int t = 0; t < n; t++)
        {
            double[] final = Norm(x[t], p["model.norm.weight"], c.RmsNormEps);
            for (int v = 0; v < c.VocabSize; v++)
                logits[t, v] = Dot(Row(output, v), final);
        }
        return logits;
    }

    private static double[] Row(Parameter matrix, int row) =>
        matrix.Value.AsSpan(row * matrix.Shape[1], matrix.Shape[1]).ToArray().Select(v => (double)v).ToArray();

    private static double Dot(double[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();

    private static void Add(double[] into, double[] values)
    {
        for (int i = 0; i < into.Length; i++) into[i] += values[i];
    }

    private static double[] Norm(double[] x, Parameter weight, double eps)
    {
        double rstd = 1 / Math.Sqrt(x.Select(v => v * v).Average() + eps);
        return x.Select((v, i) => v * rstd * weight.Value[i]).ToArray();
    }

    /// <summary>x W^T + b, plus s (x A^T) B^T when the module is adapted.</summary>
    private static double[] Project(double[] x, ParameterSet p, LoraConfig? lora, int layer, string module)
    {
        string path = LoraConfig.ModulePath(layer, module);
        Parameter w = p[path + ".weight"];
        var y = new double[w.Shape[0]];
        for (int o = 0; o < y.Length; o++)
            y[o] = Dot(Row(w, o), x) + (p.TryGet(path + ".bias", out Parameter bias) ? bias.Value[o] : 0);
        if (lora is not null && lora.Targets(module))
        {
            Parameter a = p[LoraConfig.LoraAName(path)], b = p[LoraConfig.LoraBName(path)];
            double[] xa = Enumerable.Range(0, lora.Rank).Select(r => Dot(Row(a, r), x)).ToArray();
            for (int o = 0; o < y.Length; o++)
                y[o] += lora.Scaling * Dot(Row(b, o), xa);
        }
        return y;
    }

    /// <summary>HF rotate_half: pairs (i, i + hd/2) rotated by position * inv_freq[i].</summary>
    private static void Rotate(double[] x, int heads, int hd, int position, double[] invFreq)
    {
        int half = hd / 2;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
            {
                double angle = position * invFreq[i], cos = Math.Cos(angle), sin = Math.Sin(angle);
                double a = x[h * hd + i], b = x[h * hd + i + half];
                x[h * hd + i] = a * cos - b * sin;
                x[h * hd + i + half] = b * cos + a * sin;
            }
    }

    /// <summary>theta^(-2i/hd), then HF's _compute_llama3_parameters when rope_scaling is llama3.</summary>
    private static double[] InverseFrequencies(ModelConfig c)
    {
        int half = c.HeadDim / 2;
        double[] inv = Enumerable.Range(0, half).Select(i => 1 / Math.Pow(c.RopeTheta, 2.0 * i / c.HeadDim)).ToArray();
        if (c.RopeScaling is not { } s)
            return inv;
        double lowWavelength = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor, highWavelength = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        return inv.Select(f =>
        {
            double wavelength = 2 * Math.PI / f;
            if (wavelength < highWavelength) return f;
            if (wavelength > lowWavelength) return f / s.Factor;
            double smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            return (1 - smooth) * f / s.Factor + smooth * f;
        }).ToArray();
    }
}
