namespace OnnxCoEvo.Cuda.Parity;

/// <summary>
/// The kernels of native/include/coevo.h in host-array form, for the parity harness: every bf16 tensor is a float[]
/// holding bf16-exact values (the harness rounds its inputs first), every output comes back as float[] (bf16 outputs
/// widened). <see cref="CudaKernelDevice"/> runs them on a GPU; a test can plug in an emulation to check the harness
/// itself without one. Shapes and maths are the ABI's (and the CPU twins').
/// </summary>
public interface IKernelDevice
{
    /// <summary>What runs the kernels, e.g. "NVIDIA H100 80GB HBM3".</summary>
    string Name { get; }

    float[] EmbeddingForward(int[] ids, float[] table, int vocab, int dim);

    /// <summary>dTable (fp32) starting from <paramref name="dTable"/>, plus the rows of <paramref name="dy"/>.</summary>
    float[] EmbeddingBackward(int[] ids, float[] dy, float[] dTable, int vocab, int dim);

    (float[] Y, float[] Rstd) RmsNormForward(float[] x, float[] weight, int rows, int dim, float eps);

    /// <summary>dx (bf16; added to <paramref name="dxIn"/> when given) and dWeight (fp32, from zero).</summary>
    (float[] Dx, float[] DWeight) RmsNormBackward(float[] x, float[] weight, float[] rstd, float[] dy, float[]? dxIn, int rows, int dim);

    float[] Rope(float[] x, int[] positions, float[] cos, float[] sin, int tokens, int heads, int headDim, bool backward);

    float[] SwiGluForward(float[] gate, float[] up, int rows, int width);

    (float[] DGate, float[] DUp) SwiGluBackward(float[] gate, float[] up, float[] dh, int rows, int width);

    (float[] Output, float[] LogSumExp) AttentionForward(float[] q, float[] k, float[] v, int[] cuSeqlens, AttentionShape shape,
        AttentionKernel kernel);

    /// <summary>dq, dk, dv from the kernel's own saved output and lse (given back by <see cref="AttentionForward"/>).</summary>
    (float[] Dq, float[] Dk, float[] Dv) AttentionBackward(float[] q, float[] k, float[] v, float[] output, float[] logSumExp,
        float[] dOutput, int[] cuSeqlens, AttentionShape shape, AttentionKernel kernel);

    float[] LinearForward(float[] x, float[] weight, float[]? bias, int rows, int inFeatures, int outFeatures);

    /// <summary>dx (bf16, written) and dWeight (fp32, from zero).</summary>
    (float[] Dx, float[] DWeight) LinearBackward(float[] x, float[] weight, float[] dy, int rows, int inFeatures, int outFeatures);

    /// <summary>xa (bf16) and y = <paramref name="y"/> + xa B^T (bf16).</summary>
    (float[] Xa, float[] Y) LoraForward(float[] x, float[] loraA, float[] loraB, float scaling, float[] y, int rows, int inFeatures,
        int outFeatures, int rank);

    /// <summary>dx = <paramref name="dxIn"/> + the adapter's input gradient (bf16); dA, dB (fp32, from zero).</summary>
    (float[] Dx, float[] DLoraA, float[] DLoraB) LoraBackward(float[] x, float[] loraA, float[] loraB, float scaling, float[] xa,
        float[] dy, float[] dxIn, int rows, int inFeatures, int outFeatures, int rank);

    (float[] LogProbs, float[] LogSumExp) TokenLogProbsForward(float[] hidden, float[] weight, int[] targets, int[] scoredRows,
        int tokens, int dim, int vocab, int chunkRows);

    float[] TokenLogProbsBackward(float[] hidden, float[] weight, int[] targets, int[] scoredRows, float[] logSumExp, float[] dLogProbs,
        int tokens, int dim, int vocab, int chunkRows);

    (double Loss, float[] Gradient) SftLoss(float[] logProbs, bool[] mask, long batchScoredTokens);

    (DpoLossResult Result, float[] Gradient) DpoLoss(float[] logProbs, bool[] mask, int[] cuSeqlens, double[] reference, DpoLossSettings settings);

    /// <summary>One step from the given state: parameter, moments and the bf16 copy after it.</summary>
    (float[] Parameter, float[] FirstMoment, float[] SecondMoment, float[] ParameterBf16) AdamWStep(float[] parameter, float[] gradient,
        float[] firstMoment, float[] secondMoment, float learningRate, AdamWSettings settings, long step);

    int[] SampleTokens(float[] logits, float[] uniforms, int rows, int vocab, float temperature, int topK, float topP);
}
