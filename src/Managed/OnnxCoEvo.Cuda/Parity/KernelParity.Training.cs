using OnnxCoEvo.Training.Losses;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Cuda.Parity;

public static partial class KernelParity
{
    // ---- SFT and DPO losses ----

    private static IEnumerable<ParityResult> Losses(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(19);
        int tokens = s.Tokens;
        float[] logp = inputs.Bf16(tokens, 4, -5);
        bool[] mask = Enumerable.Range(0, tokens).Select(_ => inputs.Uniform() < 0.6).ToArray();
        long scoredTokens = mask.Count(m => m) + 100; // the batch holds more micro-batches than this one
        string shape = $"logp {Dims(tokens)}";

        var grad = new float[tokens];
        double loss = SftLoss.Compute(logp, mask, scoredTokens, grad);
        (double devLoss, float[] devGrad) = device.SftLoss(logp, mask, scoredTokens);
        yield return CheckScalar("losses", "sft loss", "SftLoss.Compute", shape, devLoss, loss, (float)loss);
        yield return Check("losses", "sft grad", "SftLoss.Compute", shape, devGrad, grad, grad);

        // DPO over pairs packed as sequences (chosen, rejected, chosen, ...) of random lengths.
        int pairs = s.DpoPairs;
        var starts = new int[2 * pairs + 1];
        for (int q = 0; q < 2 * pairs; q++)
            starts[q + 1] = starts[q] + 1 + inputs.Int(Math.Max(1, tokens / (2 * pairs)));
        int dpoTokens = starts[^1];
        float[] dpoLogp = inputs.Bf16(dpoTokens, 2, -3);
        bool[] dpoMask = Enumerable.Range(0, dpoTokens).Select(_ => inputs.Uniform() < 0.7).ToArray();
        var sums = new double[2 * pairs];
        SequenceLogProbs.Sum(dpoLogp, dpoMask, starts, sums);
        double[] reference = sums.Select(v => v + (inputs.Uniform() - 0.5) * 8).ToArray();
        var options = PreferenceLossOptions.CoEvolving(beta: 0.1);
        var batch = new PreferenceBatchSize(pairs + 2, dpoMask.Count(m => m) + 50);
        var pairLogProbs = Enumerable.Range(0, pairs)
            .Select(i => new PreferenceLogProbs(sums[2 * i], sums[2 * i + 1], reference[2 * i], reference[2 * i + 1])).ToArray();
        var gradChosen = new double[pairs];
        var gradRejected = new double[pairs];
        PreferenceLossResult expected = PreferenceLoss.Compute(pairLogProbs, options, batch, gradChosen, gradRejected);
        var sequenceGrads = new double[2 * pairs];
        for (int i = 0; i < pairs; i++)
        {
            sequenceGrads[2 * i] = gradChosen[i];
            sequenceGrads[2 * i + 1] = gradRejected[i];
        }
        var tokenGrads = new float[dpoTokens];
        SequenceLogProbs.BroadcastGradient(sequenceGrads, dpoMask, starts, tokenGrads);
        var settings = new DpoLossSettings(options.Beta, options.DpoWeight, options.ChosenNllWeight,
            options.ChosenNllNormalization == TokenNormalization.TokenMean, batch.PairCount, batch.ChosenTokenCount);
        (DpoLossResult devResult, float[] devTokenGrads) = device.DpoLoss(dpoLogp, dpoMask, starts, reference, settings);
        string dpoShape = $"{pairs} pairs, {dpoTokens} tokens, beta {options.Beta}, 0.5 DPO + 0.5 NLL";
        yield return CheckScalar("losses", "dpo total", "PreferenceLoss.Compute", dpoShape, devResult.Total, expected.Total, (float)expected.Total);
        yield return CheckScalar("losses", "dpo margin", "PreferenceLoss.Compute", dpoShape, devResult.Margin, expected.Margin, (float)expected.Margin);
        yield return CheckScalar("losses", "dpo accuracy", "PreferenceLoss.Compute", dpoShape, devResult.Accuracy, expected.Accuracy, expected.Accuracy);
        yield return Check("losses", "dpo grad", "SequenceLogProbs.BroadcastGradient", dpoShape, devTokenGrads, tokenGrads, tokenGrads);
    }

    // ---- AdamW on the fp32 masters of one LoRA pair ----

    private static IEnumerable<ParityResult> AdamWCase(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(20);
        int n = s.Rank * s.Dim + s.Ffn * s.Rank;
        float[] value = inputs.Bf16(n, 0.05);
        float[] grad = inputs.Bf16(n, 0.01);
        float[] m = inputs.Bf16(n, 0.001);
        float[] v = inputs.Bf16(n, 1e-5, 1e-5);
        const float LearningRate = 2e-4f;
        const long Step = 7;
        var options = new AdamWOptions { WeightDecay = 0.01 };
        string shape = $"{n} fp32 masters (A and B at rank {s.Rank}), step {Step}";

        // The twin: an AdamW over one parameter, its moments imported as the state after Step - 1 updates.
        var parameter = new Parameter("lora", [n], (float[])value.Clone(), trainable: true);
        grad.CopyTo(parameter.Grad, 0);
        var set = new ParameterSet();
        set.Add(parameter);
        var optimizer = new AdamW(set, options);
        optimizer.ImportState(new AdamWState(Step - 1,
            [new("lora" + AdamW.FirstMomentSuffix, [n], (float[])m.Clone()), new("lora" + AdamW.SecondMomentSuffix, [n], (float[])v.Clone())]));
        optimizer.Step(LearningRate);
        var state = optimizer.ExportState();
        float[] twinM = state.Tensors[0].Values, twinV = state.Tensors[1].Values;

        var settings = new AdamWSettings(options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        (float[] devP, float[] devM, float[] devV, float[] devCopy) = device.AdamWStep(value, grad, m, v, LearningRate, settings, Step);
        yield return Check("adamw", "param", "AdamW.Step", shape, devP, parameter.Value, parameter.Value);
        yield return Check("adamw", "exp_avg", "AdamW.Step", shape, devM, twinM, twinM);
        yield return Check("adamw", "exp_avg_sq", "AdamW.Step", shape, devV, twinV, twinV);
        yield return Check("adamw", "param bf16 copy", "AdamW.Step", shape, devCopy, RoundAll(parameter.Value), RoundAll(parameter.Value));
    }

    // ---- sampling ----

    private static IEnumerable<ParityResult> Sampling(IKernelDevice device, ParityShapes s, SamplerTwin twin)
    {
        var inputs = new Inputs(21);
        int rows = s.SampleRows, vocab = s.Vocab;
        float[] logits = inputs.Normal((long)rows * vocab, 3); // bf16-exact: ties happen, and must go to the lower id
        float[] uniforms = Enumerable.Range(0, rows).Select(_ => (float)inputs.Uniform()).ToArray();
        (float Temperature, int TopK, float TopP)[] settings = [(0f, 0, 1f), (0.7f, 50, 1f), (1f, 0, 0.9f), (1.3f, 200, 0.95f), (1f, 0, 1f)];
        foreach ((float temperature, int topK, float topP) in settings)
        {
            int[] ids = device.SampleTokens(logits, uniforms, rows, vocab, temperature, topK, topP);
            int mismatches = 0, boundary = 0;
            string? first = null;
            for (int r = 0; r < rows; r++)
            {
                (int[] candidates, double[] probabilities) = twin(logits.AsSpan(r * vocab, vocab), temperature, topK, topP);
                int expected = Pick(candidates, probabilities, uniforms[r], out double gap);
                if (ids[r] == expected)
                    continue;
                // The device sums in another order: a draw within 1e-9 of a cumulative boundary may land on the neighbour.
                if (gap < 1e-9 && Array.IndexOf(candidates, ids[r]) is int at && at >= 0 && Math.Abs(at - Array.IndexOf(candidates, expected)) == 1)
                {
                    boundary++;
                    continue;
                }
                mismatches++;
                first ??= $"row {r}: device id {ids[r]}, twin id {expected}";
            }
            string shape = $"logits {Dims(rows, vocab)}, T {temperature}, top-k {topK}, top-p {topP}";
            yield return new ParityResult("sampling", temperature == 0 ? "greedy ids" : "sampled ids", "TokenSampler.Candidates", shape,
                mismatches, 0, 0, mismatches == 0, first ?? (boundary > 0 ? $"{boundary} draw(s) on a cumulative boundary" : null));
        }
    }

    /// <summary>The twin's draw (TokenSampler.Sample with a given uniform): the first candidate whose cumulative
    /// probability exceeds u; <paramref name="gap"/> is the distance from u to the nearest cumulative boundary.</summary>
    private static int Pick(int[] ids, double[] probabilities, double u, out double gap)
    {
        double cumulative = 0;
        gap = double.PositiveInfinity;
        for (int i = 0; i < ids.Length; i++)
        {
            double before = cumulative;
            cumulative += probabilities[i];
            gap = Math.Min(gap, Math.Min(Math.Abs(u - before), Math.Abs(u - cumulative)));
            if (u < cumulative)
                return ids[i];
        }
        return ids[^1];
    }
}
