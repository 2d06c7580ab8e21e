using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// GEMM without packing or threads, for matrix-vector products where packing does not pay: one output row (m = 1)
/// or one output column (n = 1). It handles any shape correctly. Each C element is a dot product (op(B) columns contiguous)
/// or a chain of multiply-adds over p in order (op(B) rows contiguous); the order depends on the shape only.
/// </summary>
internal static unsafe class GemmDirect
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate)
    {
        // B^T stored [n, k] and a single column of B [k, 1] both hold each op(B) column contiguously.
        bool dotForm = transB || n == 1;
        float[] scratch = ArrayPool<float>.Shared.Rent(k + (dotForm ? 0 : n));
        try
        {
            fixed (float* pa = a, pb = b, pc = c, ps = scratch)
            {
                float* gatheredRow = ps;   // a row of op(A) when A is stored transposed
                float* rowSums = ps + k;
                for (int i = 0; i < m; i++)
                {
                    float* aRow = pa + (nint)i * k;
                    if (transA)
                    {
                        for (int p = 0; p < k; p++) gatheredRow[p] = pa[(nint)p * m + i];
                        aRow = gatheredRow;
                    }
                    float* cRow = pc + (nint)i * n;
                    if (dotForm)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            float sum = Dot(aRow, pb + (nint)j * k, k);
                            cRow[j] = accumulate ? cRow[j] + sum : sum;
                        }
                    }
                    else
                    {
                        new Span<float>(rowSums, n).Clear();
                        for (int p = 0; p < k; p++) MultiplyAddInto(aRow[p], pb + (nint)p * n, rowSums, n);
                        for (int j = 0; j < n; j++) cRow[j] = accumulate ? cRow[j] + rowSums[j] : rowSums[j];
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>sum x[p] * y[p]: four lane-wise partial sums by index (never by address), then a fixed reduction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(float* x, float* y, int length)
    {
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int p = 0;
        for (; p + 16 <= length; p += 16)
        {
            s0 = GemmKernels.MultiplyAdd(Vector128.Load(x + p), Vector128.Load(y + p), s0);
            s1 = GemmKernels.MultiplyAdd(Vector128.Load(x + p + 4), Vector128.Load(y + p + 4), s1);
            s2 = GemmKernels.MultiplyAdd(Vector128.Load(x + p + 8), Vector128.Load(y + p + 8), s2);
            s3 = GemmKernels.MultiplyAdd(Vector128.Load(x + p + 12), Vector128.Load(y + p + 12), s3);
        }
        for (; p + 4 <= length; p += 4)
            s0 = GemmKernels.MultiplyAdd(Vector128.Load(x + p), Vector128.Load(y + p), s0);
        Vector128<float> s = (s0 + s1) + (s2 + s3);
        float sum = (s.GetElement(0) + s.GetElement(1)) + (s.GetElement(2) + s.GetElement(3));
        for (; p < length; p++)
            sum = GemmKernels.MultiplyAdd(x[p], y[p], sum);
        return sum;
    }

    /// <summary>y[j] += alpha * x[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyAddInto(float alpha, float* x, float* y, int length)
    {
        var alphas = Vector128.Create(alpha);
        int j = 0;
        for (; j + 4 <= length; j += 4)
            GemmKernels.MultiplyAdd(alphas, Vector128.Load(x + j), Vector128.Load(y + j)).Store(y + j);
        for (; j < length; j++)
            y[j] = GemmKernels.MultiplyAdd(alpha, x[j], y[j]);
    }
}
