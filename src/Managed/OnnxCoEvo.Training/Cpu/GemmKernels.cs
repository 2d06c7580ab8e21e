using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// The 6x16 GEMM microkernel over packed panels, in two builds: AVX2+FMA (Vector256, 12 accumulators) and a portable
/// Vector128 one. Both sum each C element over p in order, one fused multiply-add per p where the hardware has FMA;
/// only explicit ISA intrinsics are used, never the "estimate" APIs whose fusing may change between JIT tiers.
/// </summary>
internal static unsafe class GemmKernels
{
    /// <summary>Rows of an A micro-panel (MR): 6 rows x 2 vectors = 12 accumulators, 15 of 16 ymm registers.</summary>
    public const int PanelRows = 6;

    /// <summary>Columns of a B micro-panel (NR): two Vector256.</summary>
    public const int PanelCols = 16;

    /// <summary>
    /// C[6, 16] (row stride ldc) = or += sum over p &lt; depth of packedA[p, 0..6] x packedB[p, 0..16].
    /// packedA holds 6 values per p, packedB 16 values per p (zero-padded panels).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Kernel6x16(float* packedA, float* packedB, int depth, float* c, nint ldc, bool addToC)
    {
        if (Fma.IsSupported)
            Kernel6x16Fma(packedA, packedB, depth, c, ldc, addToC);
        else
            Kernel6x16Portable(packedA, packedB, depth, c, ldc, addToC);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16Fma(float* ap, float* bp, int depth, float* c, nint ldc, bool addToC)
    {
        // C rows sit a row stride apart (often a multiple of 4 KiB) where no hardware prefetcher looks: ask for them
        // now, so they arrive while the depth loop runs (a row of 16 floats may straddle two cache lines).
        for (int r = 0; r < PanelRows; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + PanelCols - 1);
        }
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector256<float> b0 = Avx.LoadVector256(bp);
            Vector256<float> b1 = Avx.LoadVector256(bp + 8);
            Vector256<float> av = Avx.BroadcastScalarToVector256(ap);
            c00 = Fma.MultiplyAdd(av, b0, c00);
            c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(ap + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10);
            c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(ap + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20);
            c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(ap + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30);
            c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(ap + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40);
            c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(ap + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50);
            c51 = Fma.MultiplyAdd(av, b1, c51);
            ap += PanelRows;
            bp += PanelCols;
        }
        StoreRow(c, c00, c01, addToC);
        StoreRow(c + ldc, c10, c11, addToC);
        StoreRow(c + 2 * ldc, c20, c21, addToC);
        StoreRow(c + 3 * ldc, c30, c31, addToC);
        StoreRow(c + 4 * ldc, c40, c41, addToC);
        StoreRow(c + 5 * ldc, c50, c51, addToC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector256<float> left, Vector256<float> right, bool addToC)
    {
        if (addToC)
        {
            left += Vector256.Load(row);
            right += Vector256.Load(row + 8);
        }
        left.Store(row);
        right.Store(row + 8);
    }

    /// <summary>One row at a time with four Vector128 accumulators: fits 16 xmm registers, works on any SIMD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16Portable(float* packedA, float* packedB, int depth, float* c, nint ldc, bool addToC)
    {
        for (int r = 0; r < PanelRows; r++)
        {
            Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
            float* ap = packedA + r;
            float* bp = packedB;
            for (int p = 0; p < depth; p++)
            {
                var av = Vector128.Create(*ap);
                s0 = MultiplyAdd(av, Vector128.Load(bp), s0);
                s1 = MultiplyAdd(av, Vector128.Load(bp + 4), s1);
                s2 = MultiplyAdd(av, Vector128.Load(bp + 8), s2);
                s3 = MultiplyAdd(av, Vector128.Load(bp + 12), s3);
                ap += PanelRows;
                bp += PanelCols;
            }
            float* row = c + r * ldc;
            if (addToC)
            {
                s0 += Vector128.Load(row);
                s1 += Vector128.Load(row + 4);
                s2 += Vector128.Load(row + 8);
                s3 += Vector128.Load(row + 12);
            }
            s0.Store(row);
            s1.Store(row + 4);
            s2.Store(row + 8);
            s3.Store(row + 12);
        }
    }

    /// <summary>acc + a * b, fused where the hardware has FMA (the same choice at every JIT tier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> acc)
    {
        if (Fma.IsSupported) return Fma.MultiplyAdd(a, b, acc);
        if (AdvSimd.IsSupported) return AdvSimd.FusedMultiplyAdd(acc, a, b);
        return acc + a * b;
    }

    /// <summary>Scalar twin of <see cref="MultiplyAdd(Vector128{float}, Vector128{float}, Vector128{float})"/> for tails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float acc) =>
        Fma.IsSupported || AdvSimd.IsSupported ? MathF.FusedMultiplyAdd(a, b, acc) : acc + a * b;
}
