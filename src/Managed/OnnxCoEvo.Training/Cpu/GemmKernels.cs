using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// A GEMM microkernel over packed panels and the cache blocking that suits it:
/// C[MR, NR] (row stride ldc) = or += sum over p &lt; depth of packedA[p, 0..MR] x packedB[p, 0..NR], where packedA holds
/// MR values per p and packedB NR values per p (zero-padded panels). Every C element is one fused multiply-add chain
/// over p in order from zero, then at most one add into C: the determinism contract rests on it. Kernels use explicit
/// ISA intrinsics only, never the "estimate" APIs whose fusing may change between JIT tiers.
/// Implemented by structs, so <see cref="GemmBlocked"/> is compiled once per kernel with these constants folded.
/// </summary>
internal unsafe interface IGemmKernel
{
    /// <summary>MR: rows of an A micro-panel.</summary>
    static abstract int PanelRows { get; }

    /// <summary>NR: columns of a B micro-panel.</summary>
    static abstract int PanelCols { get; }

    /// <summary>MC / MR: row panels of a tile, whose packed A (in L2) the tile sweeps once per B micro-panel.</summary>
    static abstract int RowPanelsPerTile { get; }

    static abstract void Run(float* packedA, float* packedB, int depth, float* c, nint ldc, bool addToC);
}

/// <summary>
/// The 6x16 microkernel in two builds: AVX2+FMA (Vector256, 12 accumulators) and a portable Vector128 one, for CPUs
/// without a usable Vector512 (see <see cref="Kernel8x32Avx512"/>).
/// </summary>
internal readonly unsafe struct Kernel6x16 : IGemmKernel
{
    /// <summary>6 rows x 2 vectors = 12 accumulators, 15 of 16 ymm registers.</summary>
    public static int PanelRows => 6;

    /// <summary>Two Vector256.</summary>
    public static int PanelCols => 16;

    /// <summary>MC = 96 rows: a tile's A block is 96 KiB (a B micro-panel, KC x 16 fp32, is 16 KiB).</summary>
    public static int RowPanelsPerTile => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* packedA, float* packedB, int depth, float* c, nint ldc, bool addToC)
    {
        if (Fma.IsSupported)
            RunFma(packedA, packedB, depth, c, ldc, addToC);
        else
            RunPortable(packedA, packedB, depth, c, ldc, addToC);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunFma(float* ap, float* bp, int depth, float* c, nint ldc, bool addToC)
    {
        GemmKernels.PrefetchRows(c, ldc, PanelRows, PanelCols);
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
    private static void RunPortable(float* packedA, float* packedB, int depth, float* c, nint ldc, bool addToC)
    {
        for (int r = 0; r < PanelRows; r++)
        {
            Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
            float* ap = packedA + r;
            float* bp = packedB;
            for (int p = 0; p < depth; p++)
            {
                var av = Vector128.Create(*ap);
                s0 = GemmKernels.MultiplyAdd(av, Vector128.Load(bp), s0);
                s1 = GemmKernels.MultiplyAdd(av, Vector128.Load(bp + 4), s1);
                s2 = GemmKernels.MultiplyAdd(av, Vector128.Load(bp + 8), s2);
                s3 = GemmKernels.MultiplyAdd(av, Vector128.Load(bp + 12), s3);
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
}

/// <summary>Which microkernel the packed GEMM runs here, and the multiply-adds shared by the kernels and their tails.</summary>
internal static class GemmKernels
{
    /// <summary>
    /// Whether the Vector512 kernels run: the CPU has AVX-512F and the runtime treats 512-bit vectors as fast (it
    /// does not on CPUs that slow their clock down for them, or where DOTNET_PreferredVectorBitWidth says otherwise).
    /// </summary>
    public static bool UseVector512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// C rows sit a row stride apart (often a multiple of 4 KiB) where no hardware prefetcher looks: an x86 kernel asks
    /// for its block of C first, so it arrives while the depth loop runs (a row may straddle one more cache line).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchRows(float* c, nint ldc, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * ldc;
            for (int j = 0; j < cols; j += 16) Sse.Prefetch0(row + j);
            Sse.Prefetch0(row + cols - 1);
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
