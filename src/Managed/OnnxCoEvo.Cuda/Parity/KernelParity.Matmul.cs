using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Cuda.Parity;

public static partial class KernelParity
{
    // ---- linear (the MLP's up projection: [ffn, dim]) ----

    private static IEnumerable<ParityResult> LinearCase(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(16);
        int rows = s.Tokens, inF = s.Dim, outF = s.Ffn;
        float[] x = inputs.Bf16((long)rows * inF, 1);
        float[] w = inputs.Bf16((long)outF * inF, 1 / MathF.Sqrt(inF));
        float[] bias = inputs.Bf16(outF, 0.5);
        float[] dy = inputs.Bf16((long)rows * outF, 1);
        string shape = $"x {Dims(rows, inF)}, W {Dims(outF, inF)}";

        var y = new float[rows * outF];
        Linear.Forward(x, w, bias, y, rows, inF, outF);
        // torch: addmm in bf16 (the product rounded, then the bias added and rounded)
        var yNoBias = new float[y.Length];
        Linear.Forward(x, w, default, yNoBias, rows, inF, outF);
        var naive = new float[y.Length];
        for (int i = 0; i < y.Length; i++)
            naive[i] = R(R(yNoBias[i]) + bias[i % outF]);
        yield return Check("linear", "forward y (+bias)", "Linear.Forward", shape, device.LinearForward(x, w, bias, rows, inF, outF), y, naive);

        var dx = new float[rows * inF];
        var dw = new float[outF * inF];
        Linear.Backward(x, w, dy, dx, dw, default, rows, inF, outF);
        (float[] devDx, float[] devDw) = device.LinearBackward(x, w, dy, rows, inF, outF);
        yield return Check("linear", "backward dx", "Linear.Backward", shape, devDx, dx, RoundAll(dx));
        yield return Check("linear", "backward dweight", "Linear.Backward", shape, devDw, dw, RoundAll(dw));
    }

    // ---- LoRA on the up projection, added into its output ----

    private static IEnumerable<ParityResult> Lora(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(17);
        int rows = s.Tokens, inF = s.Dim, outF = s.Ffn, rank = s.Rank;
        float[] x = inputs.Bf16((long)rows * inF, 1);
        float[] a = inputs.Bf16((long)rank * inF, 1 / MathF.Sqrt(inF));
        float[] b = inputs.Bf16((long)outF * rank, 0.1);
        float[] yBase = inputs.Bf16((long)rows * outF, 1);
        float[] dy = inputs.Bf16((long)rows * outF, 1);
        float[] dxIn = inputs.Bf16((long)rows * inF, 0.5);
        string shape = $"x {Dims(rows, inF)}, A {Dims(rank, inF)}, B {Dims(outF, rank)}, s {LoraScaling}";

        var xa = new float[rows * rank];
        var y = (float[])yBase.Clone();
        Linear.LoraForward(x, a, b, LoraScaling, xa, y, rows, inF, outF, rank);
        // Naive (PEFT in bf16): xa = (x A^T) * s, each rounded; y = base + xa B^T, each rounded.
        var xaProduct = new float[rows * rank];
        Gemm.Multiply(x, a, xaProduct, rows, rank, inF, transB: true);
        float[] xaNaive = xaProduct.Select(p => R(R(p) * LoraScaling)).ToArray();
        var loraOut = new float[rows * outF];
        Gemm.Multiply(xaNaive, b, loraOut, rows, outF, rank, transB: true);
        var yNaive = new float[y.Length];
        for (int i = 0; i < y.Length; i++)
            yNaive[i] = R(yBase[i] + R(loraOut[i]));
        (float[] devXa, float[] devY) = device.LoraForward(x, a, b, LoraScaling, yBase, rows, inF, outF, rank);
        yield return Check("lora", "forward xa", "Linear.LoraForward", shape, devXa, xa, xaNaive);
        yield return Check("lora", "forward y (+=)", "Linear.LoraForward", shape, devY, y, yNaive);

        // Backward from the bf16 xa both sides hold (the kernel saved it so), against the twin in fp32.
        var dx = (float[])dxIn.Clone();
        var da = new float[rank * inF];
        var db = new float[outF * rank];
        Linear.LoraBackward(x, a, b, LoraScaling, devXa, dy, dx, da, db, rows, inF, outF, rank);
        var g = new float[rows * rank];
        Gemm.Multiply(dy, b, g, rows, rank, outF);
        float[] gNaive = g.Select(v => R(R(v) * LoraScaling)).ToArray();
        var daNaive = new float[da.Length];
        Gemm.Multiply(gNaive, x, daNaive, rank, inF, rows, transA: true);
        var dxLora = new float[dx.Length];
        Gemm.Multiply(gNaive, a, dxLora, rows, inF, rank);
        var dxNaive = new float[dx.Length];
        for (int i = 0; i < dx.Length; i++)
            dxNaive[i] = R(dxIn[i] + R(dxLora[i]));
        (float[] devDx, float[] devDa, float[] devDb) = device.LoraBackward(x, a, b, LoraScaling, devXa, dy, dxIn, rows, inF, outF, rank);
        yield return Check("lora", "backward dx (+=)", "Linear.LoraBackward", shape, devDx, dx, dxNaive);
        yield return Check("lora", "backward dA", "Linear.LoraBackward", shape, devDa, da, RoundAll(daNaive));
        yield return Check("lora", "backward dB", "Linear.LoraBackward", shape, devDb, db, RoundAll(db));
    }

    // ---- LM head + log-softmax + gather ----

    private static IEnumerable<ParityResult> TokenLogProbsCase(IKernelDevice device, ParityShapes s)
    {
        var inputs = new Inputs(18);
        int tokens = s.Tokens, dim = s.Dim, vocab = s.Vocab;
        float[] hidden = inputs.Bf16((long)tokens * dim, 1);
        float[] weight = inputs.Bf16((long)vocab * dim, 4 / MathF.Sqrt(dim)); // logits of a few units: a peaked softmax
        int[] targets = Enumerable.Range(0, tokens).Select(_ => inputs.Int(vocab)).ToArray();
        var mask = new bool[tokens];
        int[] scored = Enumerable.Range(0, tokens).OrderBy(_ => inputs.Uniform()).Take(s.ScoredTokens).Order().ToArray();
        foreach (int t in scored)
            mask[t] = true;
        float[] dLogProbs = inputs.Bf16(tokens, 1);
        string shape = $"hidden {Dims(tokens, dim)}, W {Dims(vocab, dim)}, {scored.Length} scored, chunks of {s.ChunkRows}";

        var logp = new float[tokens];
        var lse = new float[tokens];
        TokenLogProbs.Forward(hidden, weight, targets, mask, logp, lse, tokens, dim, vocab, s.ChunkRows);
        var dHidden = new float[tokens * dim];
        TokenLogProbs.Backward(hidden, weight, targets, mask, lse, dLogProbs, dHidden, default, tokens, dim, vocab, s.ChunkRows);

        // Naive (PyTorch: logits = h W^T in bf16; log_softmax in bf16 (fp32 inside); gather; backward through the same):
        var naiveLogp = new float[tokens];
        var naiveLse = new float[tokens];
        var naiveDh = new float[tokens * dim];
        var rowHidden = new float[scored.Length * dim];
        for (int i = 0; i < scored.Length; i++)
            hidden.AsSpan(scored[i] * dim, dim).CopyTo(rowHidden.AsSpan(i * dim, dim));
        var logits = new float[(long)scored.Length * vocab];
        Gemm.Multiply(rowHidden, weight, logits, scored.Length, vocab, dim, transB: true);
        var dz = new float[logits.Length];
        for (int i = 0; i < scored.Length; i++)
        {
            int t = scored[i];
            Span<float> z = logits.AsSpan(i * vocab, vocab);
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < vocab; j++)
                max = Math.Max(max, z[j] = R(z[j]));
            for (int j = 0; j < vocab; j++)
                sum += Math.Exp(z[j] - max);
            double l = max + Math.Log(sum);
            naiveLse[t] = R(l);
            naiveLogp[t] = R(z[targets[t]] - l);
            for (int j = 0; j < vocab; j++)
            {
                // d log_softmax: dlogp (onehot - softmax), with softmax = exp(logp) of the bf16 log-probs
                double p = Math.Exp(R(z[j] - l));
                dz[(long)i * vocab + j] = R(dLogProbs[t] * ((j == targets[t] ? 1 : 0) - p));
            }
        }
        var dhRows = new float[scored.Length * dim];
        Gemm.Multiply(dz, weight, dhRows, scored.Length, dim, vocab);
        for (int i = 0; i < scored.Length; i++)
            for (int c = 0; c < dim; c++)
                naiveDh[scored[i] * dim + c] = R(dhRows[i * dim + c]);

        (float[] devLogp, float[] devLse) = device.TokenLogProbsForward(hidden, weight, targets, scored, tokens, dim, vocab, s.ChunkRows);
        yield return Check("token_logprobs", "forward logp", "TokenLogProbs.Forward", shape, devLogp, logp, naiveLogp);
        yield return Check("token_logprobs", "forward lse", "TokenLogProbs.Forward", shape, devLse, lse, naiveLse);
        float[] devDh = device.TokenLogProbsBackward(hidden, weight, targets, scored, devLse, dLogProbs, tokens, dim, vocab, s.ChunkRows);
        yield return Check("token_logprobs", "backward dhidden", "TokenLogProbs.Backward", shape, devDh, dHidden, naiveDh);
    }
}
