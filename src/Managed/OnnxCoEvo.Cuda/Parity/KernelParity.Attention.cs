using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Cuda.Parity;

public static partial class KernelParity
{
    private static IEnumerable<ParityResult> Attention(IKernelDevice device, ParityShapes s, AttentionKernel kernel)
    {
        string family = kernel == AttentionKernel.TensorCores ? "attention_tc" : "attention";
        var inputs = new Inputs(15);
        int[] starts = s.SequenceStarts;
        int tokens = s.Tokens;
        float[] q = inputs.Bf16((long)tokens * s.Heads * s.HeadDim, 1);
        float[] k = inputs.Bf16((long)tokens * s.KvHeads * s.HeadDim, 1);
        float[] v = inputs.Bf16((long)tokens * s.KvHeads * s.HeadDim, 1);
        float[] dOut = inputs.Bf16((long)tokens * s.Heads * s.HeadDim, 1);
        var shape = AttentionShape.FromStarts(starts, s.Heads, s.KvHeads, s.HeadDim);
        string text = $"q {Dims(tokens, s.Heads, s.HeadDim)}, kv heads {s.KvHeads}, sequences {string.Join("+", starts.Zip(starts.Skip(1), (a, b) => b - a))}";

        var o = new float[q.Length];
        var lse = new float[tokens * s.Heads];
        CausalAttention.Forward(q, k, v, starts, o, lse, s.Heads, s.KvHeads, s.HeadDim);
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        CausalAttention.Backward(q, k, v, starts, lse, dOut, dq, dk, dv, s.Heads, s.KvHeads, s.HeadDim);
        NaiveAttention naive = NaiveAttention.Run(q, k, v, dOut, starts, s.Heads, s.KvHeads, s.HeadDim);

        (float[] devO, float[] devLse) = device.AttentionForward(q, k, v, starts, shape, kernel);
        yield return Check(family, "forward o", "CausalAttention.Forward", text, devO, o, naive.Output);
        yield return Check(family, "forward lse", "CausalAttention.Forward", text, devLse, lse, naive.LogSumExp);
        (float[] devDq, float[] devDk, float[] devDv) = device.AttentionBackward(q, k, v, devO, devLse, dOut, starts, shape, kernel);
        yield return Check(family, "backward dq", "CausalAttention.Backward", text, devDq, dq, naive.Dq);
        yield return Check(family, "backward dk", "CausalAttention.Backward", text, devDk, dk, naive.Dk);
        yield return Check(family, "backward dv", "CausalAttention.Backward", text, devDv, dv, naive.Dv);
    }

    /// <summary>
    /// Attention as PyTorch's math path computes it in bf16, every op's output rounded: S = (q k^T) * scale, P =
    /// softmax(S) (fp32 inside), o = P v; backward dP = dO v^T, dS = P (dP - sum P dP), dq = (dS k) * scale, dk =
    /// (dS^T q) * scale, dv = P^T dO. Sums in double (the rounding, not the summation, is what bf16 costs). The lse is
    /// that of the rounded scores, in fp32.
    /// </summary>
    private sealed record NaiveAttention(float[] Output, float[] LogSumExp, float[] Dq, float[] Dk, float[] Dv)
    {
        public static NaiveAttention Run(float[] q, float[] k, float[] v, float[] dOut, int[] starts, int heads, int kvHeads, int headDim)
        {
            int tokens = starts[^1], group = heads / kvHeads;
            float scale = 1f / MathF.Sqrt(headDim);
            var o = new float[q.Length];
            var lse = new float[tokens * heads];
            var dq = new float[q.Length];
            var dk = new float[k.Length];
            var dv = new float[v.Length];
            long Q(int t, int h) => ((long)t * heads + h) * headDim;
            long K(int t, int h) => ((long)t * kvHeads + h) * headDim;
            // One item per (sequence, kv head): it owns dk, dv of that head and the rows of its query heads.
            Parallel.For(0, (starts.Length - 1) * kvHeads, item =>
            {
                int sequence = item / kvHeads, kvHead = item % kvHeads;
                int first = starts[sequence], end = starts[sequence + 1], n = end - first;
                var p = new float[n];
                var ds = new float[n];
                var dkAcc = new double[n * headDim];
                var dvAcc = new double[n * headDim];
                for (int head = kvHead * group; head < (kvHead + 1) * group; head++)
                {
                    for (int t = first; t < end; t++)
                    {
                        int visible = t - first + 1;
                        double max = double.NegativeInfinity;
                        for (int j = 0; j < visible; j++)
                        {
                            double dot = 0;
                            for (int d = 0; d < headDim; d++)
                                dot += (double)q[Q(t, head) + d] * k[K(first + j, kvHead) + d];
                            p[j] = R(R(dot) * scale);
                            max = Math.Max(max, p[j]);
                        }
                        double sum = 0;
                        for (int j = 0; j < visible; j++)
                            sum += Math.Exp(p[j] - max);
                        lse[(long)t * heads + head] = (float)(max + Math.Log(sum));
                        for (int j = 0; j < visible; j++)
                            p[j] = R(Math.Exp(p[j] - max) / sum);
                        double delta = 0;
                        for (int j = 0; j < visible; j++)
                        {
                            double dp = 0;
                            for (int d = 0; d < headDim; d++)
                                dp += (double)dOut[Q(t, head) + d] * v[K(first + j, kvHead) + d];
                            ds[j] = R(dp);
                            delta += (double)p[j] * ds[j];
                        }
                        for (int j = 0; j < visible; j++)
                            ds[j] = R(p[j] * (ds[j] - delta));
                        for (int d = 0; d < headDim; d++)
                        {
                            double acc = 0, accDq = 0;
                            for (int j = 0; j < visible; j++)
                            {
                                acc += (double)p[j] * v[K(first + j, kvHead) + d];
                                accDq += (double)ds[j] * k[K(first + j, kvHead) + d];
                            }
                            o[Q(t, head) + d] = R(acc);
                            dq[Q(t, head) + d] = R(R(accDq) * scale);
                        }
                        for (int j = 0; j < visible; j++)
                        {
                            for (int d = 0; d < headDim; d++)
                            {
                                dkAcc[j * headDim + d] += (double)ds[j] * q[Q(t, head) + d];
                                dvAcc[j * headDim + d] += (double)p[j] * dOut[Q(t, head) + d];
                            }
                        }
                    }
                }
                for (int j = 0; j < n; j++)
                {
                    for (int d = 0; d < headDim; d++)
                    {
                        dk[K(first + j, kvHead) + d] = R(R(dkAcc[j * headDim + d]) * scale);
                        dv[K(first + j, kvHead) + d] = R(dvAcc[j * headDim + d]);
                    }
                }
            });
            return new NaiveAttention(o, lse, dq, dk, dv);
        }
    }
}
