using OnnxCoEvo.Cuda;
using OnnxCoEvo.Cuda.Parity;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Native;

/// <summary>
/// A stand-in for the GPU that checks the parity harness itself where there is none: each "kernel" is its CPU twin
/// with bf16 outputs rounded once (what a correct fused kernel produces), and <see cref="Break"/> names one output
/// family to corrupt, so a test can see the harness reject it.
/// </summary>
internal sealed class EmulatedKernelDevice(string? brokenKernel = null) : IKernelDevice
{
    public string Name => brokenKernel is null ? "CPU emulation" : $"CPU emulation, {brokenKernel} broken";

    private float[] Out(string kernel, float[] values, bool bf16 = true)
    {
        float[] result = bf16 ? values.Select(BFloat16.Round).ToArray() : values;
        if (kernel == brokenKernel)
            Break(result);
        return result;
    }

    // A wrong kernel: a 3% error on every other element (far beyond any bf16 rounding budget).
    private static void Break(float[] values)
    {
        for (int i = 0; i < values.Length; i += 2)
            values[i] = values[i] * 1.03f + 0.01f;
    }

    public static SamplerTwin Sampler => (logits, t, k, p) => TokenSampler.Candidates(logits, new SamplingOptions { Temperature = t, TopK = k, TopP = p });

    public float[] EmbeddingForward(int[] ids, float[] table, int vocab, int dim)
    {
        var y = new float[ids.Length * dim];
        Embedding.Forward(ids, table, y, vocab, dim);
        return Out("embedding", y);
    }

    public float[] EmbeddingBackward(int[] ids, float[] dy, float[] dTable, int vocab, int dim)
    {
        var table = (float[])dTable.Clone();
        Embedding.Backward(ids, dy, table, vocab, dim);
        return Out("embedding", table, bf16: false);
    }

    public (float[] Y, float[] Rstd) RmsNormForward(float[] x, float[] weight, int rows, int dim, float eps)
    {
        var y = new float[rows * dim];
        var rstd = new float[rows];
        RmsNorm.Forward(x, weight, y, rstd, rows, dim, eps);
        return (Out("rmsnorm", y), rstd);
    }

    public (float[] Dx, float[] DWeight) RmsNormBackward(float[] x, float[] weight, float[] rstd, float[] dy, float[]? dxIn, int rows, int dim)
    {
        float[] dx = dxIn is null ? new float[rows * dim] : (float[])dxIn.Clone();
        var dw = new float[dim];
        RmsNorm.Backward(x, weight, rstd, dy, dx, dw, rows, dim, accumulateDx: dxIn is not null);
        return (Out("rmsnorm", dx), dw);
    }

    public float[] Rope(float[] x, int[] positions, float[] cos, float[] sin, int tokens, int heads, int headDim, bool backward)
    {
        var y = (float[])x.Clone();
        if (backward)
            OnnxCoEvo.Training.Cpu.Rope.Backward(y, positions, cos, sin, tokens, heads, headDim);
        else
            OnnxCoEvo.Training.Cpu.Rope.Forward(y, positions, cos, sin, tokens, heads, headDim);
        return Out("rope", y);
    }

    public float[] SwiGluForward(float[] gate, float[] up, int rows, int width)
    {
        var h = new float[gate.Length];
        SwiGlu.Forward(gate, up, h, rows, width);
        return Out("swiglu", h);
    }

    public (float[] DGate, float[] DUp) SwiGluBackward(float[] gate, float[] up, float[] dh, int rows, int width)
    {
        var dGate = new float[gate.Length];
        var dUp = new float[gate.Length];
        SwiGlu.Backward(gate, up, dh, dGate, dUp, rows, width);
        return (Out("swiglu", dGate), Out("swiglu", dUp));
    }

    public (float[] Output, float[] LogSumExp) AttentionForward(float[] q, float[] k, float[] v, int[] cuSeqlens, AttentionShape shape,
        AttentionKernel kernel)
    {
        var o = new float[q.Length];
        var lse = new float[shape.Tokens * shape.Heads];
        CausalAttention.Forward(q, k, v, cuSeqlens, o, lse, shape.Heads, shape.KvHeads, shape.HeadDim);
        return (Out(Family(kernel), o), lse);
    }

    public (float[] Dq, float[] Dk, float[] Dv) AttentionBackward(float[] q, float[] k, float[] v, float[] output, float[] logSumExp,
        float[] dOutput, int[] cuSeqlens, AttentionShape shape, AttentionKernel kernel)
    {
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        CausalAttention.Backward(q, k, v, cuSeqlens, logSumExp, dOutput, dq, dk, dv, shape.Heads, shape.KvHeads, shape.HeadDim);
        return (Out(Family(kernel), dq), Out(Family(kernel), dk), Out(Family(kernel), dv));
    }

    private static string Family(AttentionKernel kernel) => kernel == AttentionKernel.TensorCores ? "attention_tc" : "attention";

    public float[] LinearForward(float[] x, float[] weight, float[]? bias, int rows, int inFeatures, int outFeatures)
    {
        var y = new float[rows * outFeatures];
        Linear.Forward(x, weight, bias, y, rows, inFeatures, outFeatures);
        return Out("linear", y);
    }

    public (float[] Dx, float[] DWeight) LinearBackward(float[] x, float[] weight, float[] dy, int rows, int inFeatures, int outFeatures)
    {
        var dx = new float[rows * inFeatures];
        var dw = new float[outFeatures * inFeatures];
        Linear.Backward(x, weight, dy, dx, dw, default, rows, inFeatures, outFeatures);
        return (Out("linear", dx), dw);
    }

    public (float[] Xa, float[] Y) LoraForward(float[] x, float[] loraA, float[] loraB, float scaling, float[] y, int rows, int inFeatures,
        int outFeatures, int rank)
    {
        var xa = new float[rows * rank];
        var output = (float[])y.Clone();
        Linear.LoraForward(x, loraA, loraB, scaling, xa, output, rows, inFeatures, outFeatures, rank);
        return (Out("lora", xa), Out("lora", output));
    }

    public (float[] Dx, float[] DLoraA, float[] DLoraB) LoraBackward(float[] x, float[] loraA, float[] loraB, float scaling, float[] xa,
        float[] dy, float[] dxIn, int rows, int inFeatures, int outFeatures, int rank)
    {
        var dx = (float[])dxIn.Clone();
        var da = new float[rank * inFeatures];
        var db = new float[outFeatures * rank];
        Linear.LoraBackward(x, loraA, loraB, scaling, xa, dy, dx, da, db, rows, inFeatures, outFeatures, rank);
        return (Out("lora", dx), da, db);
    }

    public (float[] LogProbs, float[] LogSumExp) TokenLogProbsForward(float[] hidden, float[] weight, int[] targets, int[] scoredRows,
        int tokens, int dim, int vocab, int chunkRows)
    {
        var logp = new float[tokens];
        var lse = new float[tokens];
        TokenLogProbs.Forward(hidden, weight, targets, Mask(scoredRows, tokens), logp, lse, tokens, dim, vocab, chunkRows);
        return (Out("token_logprobs", logp, bf16: false), lse);
    }

    public float[] TokenLogProbsBackward(float[] hidden, float[] weight, int[] targets, int[] scoredRows, float[] logSumExp, float[] dLogProbs,
        int tokens, int dim, int vocab, int chunkRows)
    {
        var dh = new float[tokens * dim];
        TokenLogProbs.Backward(hidden, weight, targets, Mask(scoredRows, tokens), logSumExp, dLogProbs, dh, default, tokens, dim, vocab, chunkRows);
        return Out("token_logprobs", dh);
    }

    private static bool[] Mask(int[] rows, int tokens)
    {
        var mask = new bool[tokens];
        foreach (int t in rows)
            mask[t] = true;
        return mask;
    }

    public (double Loss, float[] Gradient) SftLoss(float[] logProbs, bool[] mask, long batchScoredTokens)
    {
        var grad = new float[logProbs.Length];
        double loss = OnnxCoEvo.Training.Losses.SftLoss.Compute(logProbs, mask, batchScoredTokens, grad);
        return (loss, Out("losses", grad, bf16: false));
    }

    public (DpoLossResult Result, float[] Gradient) DpoLoss(float[] logProbs, bool[] mask, int[] cuSeqlens, double[] reference, DpoLossSettings settings)
    {
        int pairs = reference.Length / 2;
        var sums = new double[2 * pairs];
        SequenceLogProbs.Sum(logProbs, mask, cuSeqlens, sums);
        var options = new PreferenceLossOptions
        {
            Beta = settings.Beta, DpoWeight = settings.DpoWeight, ChosenNllWeight = settings.ChosenNllWeight,
            ChosenNllNormalization = settings.ChosenNllTokenMean ? TokenNormalization.TokenMean : TokenNormalization.SequenceSum,
        };
        var chosen = new double[pairs];
        var rejected = new double[pairs];
        PreferenceLossResult r = PreferenceLoss.Compute(
            Enumerable.Range(0, pairs).Select(i => new PreferenceLogProbs(sums[2 * i], sums[2 * i + 1], reference[2 * i], reference[2 * i + 1])).ToArray(),
            options, new PreferenceBatchSize(settings.BatchPairs, settings.BatchChosenTokens), chosen, rejected);
        var grad = new float[logProbs.Length];
        SequenceLogProbs.BroadcastGradient(Enumerable.Range(0, 2 * pairs).Select(q => q % 2 == 0 ? chosen[q / 2] : rejected[q / 2]).ToArray(),
            mask, cuSeqlens, grad);
        return (new DpoLossResult(r.Total, r.Dpo, r.ChosenNll, r.ChosenReward, r.RejectedReward, r.Margin, r.Accuracy), Out("losses", grad, bf16: false));
    }

    public (float[] Parameter, float[] FirstMoment, float[] SecondMoment, float[] ParameterBf16) AdamWStep(float[] parameter, float[] gradient,
        float[] firstMoment, float[] secondMoment, float learningRate, AdamWSettings settings, long step)
    {
        int n = parameter.Length;
        var p = new Parameter("p", [n], (float[])parameter.Clone(), trainable: true);
        gradient.CopyTo(p.Grad, 0);
        var set = new ParameterSet();
        set.Add(p);
        var optimizer = new AdamW(set, new AdamWOptions { Beta1 = settings.Beta1, Beta2 = settings.Beta2, Epsilon = settings.Epsilon, WeightDecay = settings.WeightDecay });
        optimizer.ImportState(new AdamWState(step - 1, [new("p" + AdamW.FirstMomentSuffix, [n], (float[])firstMoment.Clone()),
            new("p" + AdamW.SecondMomentSuffix, [n], (float[])secondMoment.Clone())]));
        optimizer.Step(learningRate);
        var state = optimizer.ExportState();
        return (Out("adamw", p.Value, bf16: false), state.Tensors[0].Values, state.Tensors[1].Values, p.Value.Select(BFloat16.Round).ToArray());
    }

    public int[] SampleTokens(float[] logits, float[] uniforms, int rows, int vocab, float temperature, int topK, float topP)
    {
        var ids = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            (int[] candidates, double[] probabilities) = Sampler(logits.AsSpan(r * vocab, vocab), temperature, topK, topP);
            double cumulative = 0;
            ids[r] = candidates[^1];
            for (int i = 0; i < candidates.Length; i++)
            {
                cumulative += probabilities[i];
                if (uniforms[r] < cumulative)
                {
                    ids[r] = candidates[i];
                    break;
                }
            }
            if (brokenKernel == "sampling")
                ids[r] = (ids[r] + 1) % vocab;
        }
        return ids;
    }
}
