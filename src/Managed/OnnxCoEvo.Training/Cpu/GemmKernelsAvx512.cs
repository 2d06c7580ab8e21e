using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// The Vector512 (AVX-512F) microkernel: 8 rows x 2 zmm = 16 accumulators (with 2 B vectors and a broadcast, 19 of the
/// 32 zmm registers). Sixteen independent chains already cover the FMA latency (4 cycles) on both FMA ports; the
/// larger blockings that 32 registers allow (12x32, 14x32, 28x16, 6x64) measured 3-10% slower on Sapphire Rapids,
/// since the usual sizes (multiples of 64) then leave partial panels, and what limits is packing, not registers.
/// </summary>
internal readonly unsafe struct Kernel8x32Avx512 : IGemmKernel
{
    public static int PanelRows => 8;

    /// <summary>Two Vector512.</summary>
    public static int PanelCols => 32;

    /// <summary>
    /// MC = 64 rows: a tile's A block is 64 KiB (96 and more measured slower), a B micro-panel (KC x 32 fp32) 32 KiB,
    /// within the 48 KiB L1 of recent cores.
    /// </summary>
    public static int RowPanelsPerTile => 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* ap, float* bp, int depth, float* c, nint ldc, bool addToC)
    {
        GemmKernels.PrefetchRows(c, ldc, PanelRows, PanelCols);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector512<float> b0 = Avx512F.LoadVector512(bp);
            Vector512<float> b1 = Avx512F.LoadVector512(bp + 16);
            Vector512<float> av = Vector512.Create(ap[0]);   // vbroadcastss zmm, [mem]
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(ap[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(ap[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(ap[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(ap[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(ap[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(ap[6]);
            c60 = Avx512F.FusedMultiplyAdd(av, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(ap[7]);
            c70 = Avx512F.FusedMultiplyAdd(av, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(av, b1, c71);
            ap += 8;
            bp += 32;
        }
        StoreRow(c, c00, c01, addToC);
        StoreRow(c + ldc, c10, c11, addToC);
        StoreRow(c + 2 * ldc, c20, c21, addToC);
        StoreRow(c + 3 * ldc, c30, c31, addToC);
        StoreRow(c + 4 * ldc, c40, c41, addToC);
        StoreRow(c + 5 * ldc, c50, c51, addToC);
        StoreRow(c + 6 * ldc, c60, c61, addToC);
        StoreRow(c + 7 * ldc, c70, c71, addToC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector512<float> left, Vector512<float> right, bool addToC)
    {
        if (addToC)
        {
            left += Avx512F.LoadVector512(row);
            right += Avx512F.LoadVector512(row + 16);
        }
        Avx512F.Store(row, left);
        Avx512F.Store(row + 16, right);
    }
}

/// <summary>
/// The Vector512 kernel for narrow outputs (n &lt;= 16, such as a LoRA rank-16 product): 16 rows x 1 zmm = 16
/// accumulators, so a 16-wide C wastes no half panel as the 32-wide <see cref="Kernel8x32Avx512"/> would (measured
/// about twice as fast there, and within noise of it elsewhere).
/// </summary>
internal readonly unsafe struct Kernel16x16Avx512 : IGemmKernel
{
    public static int PanelRows => 16;

    /// <summary>One Vector512.</summary>
    public static int PanelCols => 16;

    /// <summary>MC = 64 rows, as for <see cref="Kernel8x32Avx512"/>.</summary>
    public static int RowPanelsPerTile => 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* ap, float* bp, int depth, float* c, nint ldc, bool addToC)
    {
        GemmKernels.PrefetchRows(c, ldc, PanelRows, PanelCols);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector512<float> b = Avx512F.LoadVector512(bp);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[0]), b, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[1]), b, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[2]), b, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[3]), b, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[4]), b, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[5]), b, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[6]), b, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[7]), b, c7);
            c8 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[8]), b, c8);
            c9 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[9]), b, c9);
            c10 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[10]), b, c10);
            c11 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[11]), b, c11);
            c12 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[12]), b, c12);
            c13 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[13]), b, c13);
            c14 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[14]), b, c14);
            c15 = Avx512F.FusedMultiplyAdd(Vector512.Create(ap[15]), b, c15);
            ap += 16;
            bp += 16;
        }
        StoreRow(c, c0, addToC);
        StoreRow(c + ldc, c1, addToC);
        StoreRow(c + 2 * ldc, c2, addToC);
        StoreRow(c + 3 * ldc, c3, addToC);
        StoreRow(c + 4 * ldc, c4, addToC);
        StoreRow(c + 5 * ldc, c5, addToC);
        StoreRow(c + 6 * ldc, c6, addToC);
        StoreRow(c + 7 * ldc, c7, addToC);
        StoreRow(c + 8 * ldc, c8, addToC);
        StoreRow(c + 9 * ldc, c9, addToC);
        StoreRow(c + 10 * ldc, c10, addToC);
        StoreRow(c + 11 * ldc, c11, addToC);
        StoreRow(c + 12 * ldc, c12, addToC);
        StoreRow(c + 13 * ldc, c13, addToC);
        StoreRow(c + 14 * ldc, c14, addToC);
        StoreRow(c + 15 * ldc, c15, addToC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector512<float> sum, bool addToC)
    {
        if (addToC) sum += Avx512F.LoadVector512(row);
        Avx512F.Store(row, sum);
    }
}
