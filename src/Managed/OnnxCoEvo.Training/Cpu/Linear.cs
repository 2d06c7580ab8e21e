using System.Buffers;
using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// A linear layer with optional bias and optional LoRA adapter, fp32 CPU reference, on <see cref="Gemm"/>. Twin of
/// native/kernels/linear.cu (cuBLAS GEMMs plus the bias and LoRA epilogues).
/// </summary>
public static class Linear
{
    // Base:   y = x W^T + b
    //   dx  = dy W                         Gemm NN   [rows, out] x [out, in]
    //   dW += dy^T x                       Gemm TN   [out, rows] x [rows, in], accumulate
    //   db += sum over rows of dy          rows added in order 0, 1, ...
    // LoRA:   y += xa B^T with xa = s * (x A^T)   (s = alpha / r; xa [rows, r] saved by the forward for backward)
    //   dB += dy^T xa                      (= s * dy^T (x A^T))
    //   g   = s * (dy B)                   [rows, r]
    //   dA += g^T x
    //   dx += g A
    // Layout: x, dx [rows, in]; y, dy [rows, out]; W, dW [out, in]; b, db [out]; A, dA [r, in]; B, dB [out, r].
    // An empty gradient span means "not wanted" (a frozen parameter, or no input gradient needed): its GEMM is skipped.

    /// <summary>y = x W^T (+ b when <paramref name="bias"/> is not empty).</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        int rows, int inFeatures, int outFeatures)
    {
        RequireBase(x.Length, weight.Length, y.Length, nameof(y), rows, inFeatures, outFeatures);
        Gemm.Multiply(x, weight, y, rows, outFeatures, inFeatures, transB: true);
        if (!bias.IsEmpty)
        {
            Require(bias.Length, outFeatures, nameof(bias), "[out]");
            for (int r = 0; r < rows; r++)
            {
                Span<float> row = y.Slice(r * outFeatures, outFeatures);
                TensorPrimitives.Add(row, bias[..outFeatures], row);
            }
        }
    }

    /// <summary>
    /// dx (written, or added when <paramref name="accumulateDx"/>; skipped when empty), dWeight += and dBias += (each
    /// skipped when empty).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, int rows, int inFeatures, int outFeatures, bool accumulateDx = false)
    {
        RequireBase(x.Length, weight.Length, dy.Length, nameof(dy), rows, inFeatures, outFeatures);
        if (!dx.IsEmpty)
        {
            Require(dx.Length, (long)rows * inFeatures, nameof(dx), "[rows, in]");
            Gemm.Multiply(dy, weight, dx, rows, inFeatures, outFeatures, accumulate: accumulateDx);
        }
        if (!dWeight.IsEmpty)
        {
            Require(dWeight.Length, (long)outFeatures * inFeatures, nameof(dWeight), "[out, in]");
            Gemm.Multiply(dy, x, dWeight, outFeatures, inFeatures, rows, transA: true, accumulate: true);
        }
        if (!dBias.IsEmpty)
        {
            Require(dBias.Length, outFeatures, nameof(dBias), "[out]");
            Span<float> db = dBias[..outFeatures];
            for (int r = 0; r < rows; r++)
                TensorPrimitives.Add(db, dy.Slice(r * outFeatures, outFeatures), db);
        }
    }

    /// <summary>y += s * (x A^T) B^T; writes xa = s * (x A^T) [rows, rank], which <see cref="LoraBackward"/> needs.</summary>
    public static void LoraForward(ReadOnlySpan<float> x, ReadOnlySpan<float> loraA, ReadOnlySpan<float> loraB, float scaling,
        Span<float> xa, Span<float> y, int rows, int inFeatures, int outFeatures, int rank)
    {
        RequireLora(x.Length, loraA.Length, loraB.Length, xa.Length, rows, inFeatures, outFeatures, rank);
        Require(y.Length, (long)rows * outFeatures, nameof(y), "[rows, out]");
        Span<float> xaUsed = xa[..(rows * rank)];
        Gemm.Multiply(x, loraA, xaUsed, rows, rank, inFeatures, transB: true);
        TensorPrimitives.Multiply(xaUsed, scaling, xaUsed);
        Gemm.Multiply(xaUsed, loraB, y, rows, outFeatures, rank, transB: true, accumulate: true);
    }

    /// <summary>dLoraA += and dLoraB += (each skipped when empty); dx += the adapter's input gradient (skipped when empty).</summary>
    public static void LoraBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> loraA, ReadOnlySpan<float> loraB, float scaling,
        ReadOnlySpan<float> xa, ReadOnlySpan<float> dy, Span<float> dx, Span<float> dLoraA, Span<float> dLoraB,
        int rows, int inFeatures, int outFeatures, int rank)
    {
        RequireLora(x.Length, loraA.Length, loraB.Length, xa.Length, rows, inFeatures, outFeatures, rank);
        Require(dy.Length, (long)rows * outFeatures, nameof(dy), "[rows, out]");
        if (!dLoraB.IsEmpty)
        {
            Require(dLoraB.Length, (long)outFeatures * rank, nameof(dLoraB), "[out, r]");
            Gemm.Multiply(dy, xa, dLoraB, outFeatures, rank, rows, transA: true, accumulate: true);
        }
        if (dLoraA.IsEmpty && dx.IsEmpty)
            return;
        float[] rented = ArrayPool<float>.Shared.Rent(rows * rank);
        try
        {
            Span<float> g = rented.AsSpan(0, rows * rank);
            Gemm.Multiply(dy, loraB, g, rows, rank, outFeatures);
            TensorPrimitives.Multiply(g, scaling, g);
            if (!dLoraA.IsEmpty)
            {
                Require(dLoraA.Length, (long)rank * inFeatures, nameof(dLoraA), "[r, in]");
                Gemm.Multiply(g, x, dLoraA, rank, inFeatures, rows, transA: true, accumulate: true);
            }
            if (!dx.IsEmpty)
            {
                Require(dx.Length, (long)rows * inFeatures, nameof(dx), "[rows, in]");
                Gemm.Multiply(g, loraA, dx, rows, inFeatures, rank, accumulate: true);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private static void RequireBase(int xLength, int weightLength, int rowsOutLength, string rowsOutName, int rows, int inFeatures, int outFeatures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        Require(xLength, (long)rows * inFeatures, "x", "[rows, in]");
        Require(weightLength, (long)outFeatures * inFeatures, "weight", "[out, in]");
        Require(rowsOutLength, (long)rows * outFeatures, rowsOutName, "[rows, out]");
    }

    private static void RequireLora(int xLength, int aLength, int bLength, int xaLength, int rows, int inFeatures, int outFeatures, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        Require(xLength, (long)rows * inFeatures, "x", "[rows, in]");
        Require(aLength, (long)rank * inFeatures, "loraA", "[r, in]");
        Require(bLength, (long)outFeatures * rank, "loraB", "[out, r]");
        Require(xaLength, (long)rows * rank, "xa", "[rows, r]");
    }

    private static void Require(int length, long needed, string name, string shape)
    {
        if (length < needed)
            throw new ArgumentException($"{name} {shape} has {length} elements but {needed} are needed", name);
    }
}
