namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// fp32 matrix multiply, row-major: C[m, n] = op(A)[m, k] * op(B)[k, n] (+ C when accumulate), where op(A) = A [m, k]
/// or, with transA, A^T for A stored [k, m]; op(B) = B [k, n] or, with transB, B^T for B stored [n, k].
/// The three uses in a linear layer y = x W^T: forward (x, W, transB), input grad dx = dy W (plain), weight grad
/// dW += dy^T x (transA, accumulate).
/// Determinism contract: every C element is summed over k in the same order whatever the thread count, so results
/// are bit-identical run to run (bit-identical resume depends on it). The Vector512 kernels (where AVX-512 is fast) and
/// the Vector256 one follow the same order, so AVX-512 and AVX2 machines agree too; CPUs without FMA (multiply, then
/// add) do not.
/// </summary>
public static class Gemm
{
    /// <summary>The multiply-add the packed GEMM's microkernel issues on this machine: its % of peak is against that peak.</summary>
    public static PeakInstruction Instruction => GemmKernels.UseVector512 ? PeakInstruction.Avx512Fma : PeakInstruction.Vector256;

    /// <summary>The packed GEMM's microkernel on this machine in words, e.g. "Vector512 FMA 8x32 (16x16 where n &lt;= 16)".</summary>
    public static string KernelDescription => GemmKernels.UseVector512
        ? $"Vector512 FMA {Kernel8x32Avx512.PanelRows}x{Kernel8x32Avx512.PanelCols} ({Kernel16x16Avx512.PanelRows}x{Kernel16x16Avx512.PanelCols} where n <= {Kernel16x16Avx512.PanelCols})"
        : $"{CpuPeak.Describe(PeakInstruction.Vector256)} {Kernel6x16.PanelRows}x{Kernel6x16.PanelCols}";

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA = false, bool transB = false, bool accumulate = false) =>
        Multiply(a, b, c, m, n, k, transA, transB, accumulate, maxDegreeOfParallelism: -1);

    /// <summary>
    /// <see cref="Multiply(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool)"/>
    /// on at most <paramref name="maxDegreeOfParallelism"/> threads (-1: one per processor). The thread count changes
    /// only which thread computes which output tile, never the order of any sum, so every value is the same.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or C overlaps A or B.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, int maxDegreeOfParallelism)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (maxDegreeOfParallelism is 0 or < -1)
            throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), maxDegreeOfParallelism, "must be -1 (all processors) or >= 1");
        if (a.Length < (long)m * k) throw new ArgumentException($"A holds {a.Length} values, needs {(long)m * k}", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"B holds {b.Length} values, needs {(long)k * n}", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"C holds {c.Length} values, needs {(long)m * n}", nameof(c));

        a = a[..(m * k)];
        b = b[..(k * n)];
        c = c[..(m * n)];
        // Packing reads A and B while C is written: an overlap would read half-written results.
        if (c.Overlaps(a) || c.Overlaps(b))
            throw new ArgumentException("C must not overlap A or B", nameof(c));

        if (m == 0 || n == 0)
            return;
        if (k == 0)
        {
            if (!accumulate) c.Clear();
            return;
        }

        // A matrix-vector product reads each matrix element once: packing would only add a copy. Anything larger,
        // even 16 x 16 x 16, is faster packed (measured).
        if (m == 1 || n == 1)
        {
            GemmDirect.Multiply(a, b, c, m, n, k, transA, transB, accumulate);
            return;
        }

        int threads = maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : maxDegreeOfParallelism;
        GemmBlocked.Multiply(a, b, c, m, n, k, transA, transB, accumulate, threads);
    }
}
