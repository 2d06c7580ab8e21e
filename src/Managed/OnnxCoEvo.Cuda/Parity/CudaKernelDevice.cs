namespace OnnxCoEvo.Cuda.Parity;

/// <summary>
/// <see cref="IKernelDevice"/> on a <see cref="CudaContext"/>: uploads (bf16 tensors as <see cref="BFloat16"/>), runs
/// the kernel, downloads. Every buffer lives only for the call.
/// </summary>
public sealed class CudaKernelDevice(CudaContext context, string name) : IKernelDevice
{
    public string Name { get; } = name;

    private sealed class Buffers(CudaContext context) : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public DeviceBuffer<BFloat16> Bf16(float[] values) => Own(context.Upload<BFloat16>(BFloat16.FromSingles(values)));
        public DeviceBuffer<BFloat16> Bf16(int length) => Own(context.Allocate<BFloat16>(length));
        public DeviceBuffer<T> Of<T>(T[] values) where T : unmanaged => Own(context.Upload<T>(values));
        public DeviceBuffer<T> New<T>(int length) where T : unmanaged => Own(context.Allocate<T>(length));
        public DeviceBuffer<byte> Mask(bool[] mask) => Of(mask.Select(m => m ? (byte)1 : (byte)0).ToArray());

        private DeviceBuffer<T> Own<T>(DeviceBuffer<T> buffer) where T : unmanaged
        {
            _owned.Add(buffer);
            return buffer;
        }

        public void Dispose()
        {
            foreach (IDisposable d in _owned)
                d.Dispose();
        }
    }

    private static float[] Floats(DeviceBuffer<BFloat16> buffer) => BFloat16.ToSingles(buffer.ToArray());

    public float[] EmbeddingForward(int[] ids, float[] table, int vocab, int dim)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> y = b.Bf16(ids.Length * dim);
        context.EmbeddingForward(b.Of(ids), b.Bf16(table), y, ids.Length, vocab, dim);
        return Floats(y);
    }

    public float[] EmbeddingBackward(int[] ids, float[] dy, float[] dTable, int vocab, int dim)
    {
        using var b = new Buffers(context);
        DeviceBuffer<float> table = b.Of(dTable);
        context.EmbeddingBackward(b.Of(ids), b.Bf16(dy), table, ids.Length, vocab, dim);
        return table.ToArray();
    }

    public (float[] Y, float[] Rstd) RmsNormForward(float[] x, float[] weight, int rows, int dim, float eps)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> y = b.Bf16(rows * dim);
        DeviceBuffer<float> rstd = b.New<float>(rows);
        context.RmsNormForward(b.Bf16(x), b.Bf16(weight), y, rstd, rows, dim, eps);
        return (Floats(y), rstd.ToArray());
    }

    public (float[] Dx, float[] DWeight) RmsNormBackward(float[] x, float[] weight, float[] rstd, float[] dy, float[]? dxIn, int rows, int dim)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> dx = dxIn is null ? b.Bf16(rows * dim) : b.Bf16(dxIn);
        DeviceBuffer<float> dw = b.Of(new float[dim]);
        context.RmsNormBackward(b.Bf16(x), b.Bf16(weight), b.Of(rstd), b.Bf16(dy), dx, dw, rows, dim, accumulateDx: dxIn is not null);
        return (Floats(dx), dw.ToArray());
    }

    public float[] Rope(float[] x, int[] positions, float[] cos, float[] sin, int tokens, int heads, int headDim, bool backward)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> data = b.Bf16(x);
        int tablePositions = cos.Length / (headDim / 2);
        if (backward)
            context.RopeBackward(data, b.Of(positions), b.Of(cos), b.Of(sin), tokens, heads, headDim, tablePositions);
        else
            context.RopeForward(data, b.Of(positions), b.Of(cos), b.Of(sin), tokens, heads, headDim, tablePositions);
        return Floats(data);
    }

    public float[] SwiGluForward(float[] gate, float[] up, int rows, int width)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> h = b.Bf16(rows * width);
        context.SwiGluForward(b.Bf16(gate), b.Bf16(up), h, rows, width);
        return Floats(h);
    }

    public (float[] DGate, float[] DUp) SwiGluBackward(float[] gate, float[] up, float[] dh, int rows, int width)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> dGate = b.Bf16(rows * width), dUp = b.Bf16(rows * width);
        context.SwiGluBackward(b.Bf16(gate), b.Bf16(up), b.Bf16(dh), dGate, dUp, rows, width);
        return (Floats(dGate), Floats(dUp));
    }

    public (float[] Output, float[] LogSumExp) AttentionForward(float[] q, float[] k, float[] v, int[] cuSeqlens, AttentionShape shape,
        AttentionKernel kernel)
    {
        using var b = new Buffers(context);
        context.AttentionKernel = kernel;
        DeviceBuffer<BFloat16> o = b.Bf16(q.Length);
        DeviceBuffer<float> lse = b.New<float>(shape.Tokens * shape.Heads);
        context.AttentionForward(b.Bf16(q), b.Bf16(k), b.Bf16(v), b.Of(cuSeqlens), o, lse, shape);
        return (Floats(o), lse.ToArray());
    }

    public (float[] Dq, float[] Dk, float[] Dv) AttentionBackward(float[] q, float[] k, float[] v, float[] output, float[] logSumExp,
        float[] dOutput, int[] cuSeqlens, AttentionShape shape, AttentionKernel kernel)
    {
        using var b = new Buffers(context);
        context.AttentionKernel = kernel;
        DeviceBuffer<BFloat16> dq = b.Bf16(q.Length), dk = b.Bf16(k.Length), dv = b.Bf16(v.Length);
        context.AttentionBackward(b.Bf16(q), b.Bf16(k), b.Bf16(v), b.Bf16(output), b.Of(logSumExp), b.Bf16(dOutput), b.Of(cuSeqlens),
            dq, dk, dv, shape);
        return (Floats(dq), Floats(dk), Floats(dv));
    }

    public float[] LinearForward(float[] x, float[] weight, float[]? bias, int rows, int inFeatures, int outFeatures)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> y = b.Bf16(rows * outFeatures);
        context.LinearForward(b.Bf16(x), b.Bf16(weight), bias is null ? null : b.Bf16(bias), y, rows, inFeatures, outFeatures);
        return Floats(y);
    }

    public (float[] Dx, float[] DWeight) LinearBackward(float[] x, float[] weight, float[] dy, int rows, int inFeatures, int outFeatures)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> dx = b.Bf16(rows * inFeatures);
        DeviceBuffer<float> dw = b.Of(new float[outFeatures * inFeatures]);
        context.LinearBackward(b.Bf16(x), b.Bf16(weight), b.Bf16(dy), dx, dw, rows, inFeatures, outFeatures);
        return (Floats(dx), dw.ToArray());
    }

    public (float[] Xa, float[] Y) LoraForward(float[] x, float[] loraA, float[] loraB, float scaling, float[] y, int rows, int inFeatures,
        int outFeatures, int rank)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> xa = b.Bf16(rows * rank), output = b.Bf16(y);
        context.LoraForward(b.Bf16(x), b.Bf16(loraA), b.Bf16(loraB), scaling, xa, output, rows, inFeatures, outFeatures, rank);
        return (Floats(xa), Floats(output));
    }

    public (float[] Dx, float[] DLoraA, float[] DLoraB) LoraBackward(float[] x, float[] loraA, float[] loraB, float scaling, float[] xa,
        float[] dy, float[] dxIn, int rows, int inFeatures, int outFeatures, int rank)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> dx = b.Bf16(dxIn);
        DeviceBuffer<float> da = b.Of(new float[rank * inFeatures]), db = b.Of(new float[outFeatures * rank]);
        context.LoraBackward(b.Bf16(x), b.Bf16(loraA), b.Bf16(loraB), scaling, b.Bf16(xa), b.Bf16(dy), dx, da, db, rows, inFeatures,
            outFeatures, rank);
        return (Floats(dx), da.ToArray(), db.ToArray());
    }

    public (float[] LogProbs, float[] LogSumExp) TokenLogProbsForward(float[] hidden, float[] weight, int[] targets, int[] scoredRows,
        int tokens, int dim, int vocab, int chunkRows)
    {
        using var b = new Buffers(context);
        DeviceBuffer<float> logp = b.New<float>(tokens), lse = b.New<float>(tokens);
        context.TokenLogProbsForward(b.Bf16(hidden), b.Bf16(weight), b.Of(targets), b.Of(scoredRows), logp, lse, tokens, dim, vocab,
            scoredRows.Length, chunkRows);
        return (logp.ToArray(), lse.ToArray());
    }

    public float[] TokenLogProbsBackward(float[] hidden, float[] weight, int[] targets, int[] scoredRows, float[] logSumExp,
        float[] dLogProbs, int tokens, int dim, int vocab, int chunkRows)
    {
        using var b = new Buffers(context);
        DeviceBuffer<BFloat16> dh = b.Bf16(tokens * dim);
        context.TokenLogProbsBackward(b.Bf16(hidden), b.Bf16(weight), b.Of(targets), b.Of(scoredRows), b.Of(logSumExp), b.Of(dLogProbs),
            dh, tokens, dim, vocab, scoredRows.Length, chunkRows);
        return Floats(dh);
    }

    public (double Loss, float[] Gradient) SftLoss(float[] logProbs, bool[] mask, long batchScoredTokens)
    {
        using var b = new Buffers(context);
        DeviceBuffer<double> loss = b.New<double>(1);
        DeviceBuffer<float> grad = b.New<float>(logProbs.Length);
        context.SftLoss(b.Of(logProbs), b.Mask(mask), loss, grad, logProbs.Length, batchScoredTokens);
        return (loss.ToArray()[0], grad.ToArray());
    }

    public (DpoLossResult Result, float[] Gradient) DpoLoss(float[] logProbs, bool[] mask, int[] cuSeqlens, double[] reference,
        DpoLossSettings settings)
    {
        using var b = new Buffers(context);
        DeviceBuffer<double> result = b.New<double>(7);
        DeviceBuffer<float> grad = b.New<float>(logProbs.Length);
        context.DpoLoss(b.Of(logProbs), b.Mask(mask), b.Of(cuSeqlens), b.Of(reference), result, grad, logProbs.Length, reference.Length / 2, settings);
        double[] r = result.ToArray();
        return (new DpoLossResult(r[0], r[1], r[2], r[3], r[4], r[5], r[6]), grad.ToArray());
    }

    public (float[] Parameter, float[] FirstMoment, float[] SecondMoment, float[] ParameterBf16) AdamWStep(float[] parameter, float[] gradient,
        float[] firstMoment, float[] secondMoment, float learningRate, AdamWSettings settings, long step)
    {
        using var b = new Buffers(context);
        DeviceBuffer<float> p = b.Of(parameter), m = b.Of(firstMoment), v = b.Of(secondMoment);
        DeviceBuffer<BFloat16> copy = b.Bf16(parameter.Length);
        context.AdamWStep(p, b.Of(gradient), m, v, copy, learningRate, settings, step);
        return (p.ToArray(), m.ToArray(), v.ToArray(), Floats(copy));
    }

    public int[] SampleTokens(float[] logits, float[] uniforms, int rows, int vocab, float temperature, int topK, float topP)
    {
        using var b = new Buffers(context);
        DeviceBuffer<int> ids = b.New<int>(rows);
        context.SampleTokens(b.Of(logits), b.Of(uniforms), ids, rows, vocab, temperature, topK, topP);
        return ids.ToArray();
    }
}
