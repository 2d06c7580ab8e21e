using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// One block of op(A) (rows, panels MR wide) or op(B) (columns, panels NR wide) to pack into k-major micro-panels:
/// panel q holds panels[q * width * depth + p * width + r] = element (q * width + r, p), zero from row or column <paramref name="count"/> on.
/// The source is either "lines along depth" (A [m, k] rows, B^T stored [n, k]: a transpose; <paramref name="stride"/>
/// separates lines) or "contiguous at each depth" (A^T stored [k, m], B [k, n]: a copy; stride separates depths).
/// Any range of panels can be packed at once (<see cref="PackPanels"/>), by whichever thread needs it first.
/// Widths are the kernels' MR and NR: 6 or a multiple of 8, as the 8 x 8 transposes require.
/// </summary>
internal readonly unsafe struct PanelPacking(float* origin, nint stride, bool linesAlongDepth, int count, int depth, int width, float* panels)
{
    /// <summary>Panels [firstPanel, endPanel) over the whole depth.</summary>
    public void PackPanels(int firstPanel, int endPanel)
    {
        int first = firstPanel * width;
        if (!linesAlongDepth)
        {
            GemmPacking.PackContiguousAtDepth(origin + first, stride, Math.Min(endPanel * width, count) - first, depth, width,
                panels + (nint)first * depth, (nint)width * depth);
            return;
        }
        for (int q = firstPanel; q < endPanel; q++, first += width)
        {
            GemmPacking.PackLinesAlongDepth(origin + first * stride, stride, Math.Min(width, count - first), depth, width,
                panels + (nint)first * depth);
        }
    }
}

/// <summary>The packing loops: 8 x 8 AVX transposes for lines along depth, vector copies for contiguous values.</summary>
internal static unsafe class GemmPacking
{
    /// <summary>panel[p * width + r] = source[r * lineStride + p]: each of the <paramref name="lines"/> lines is contiguous along p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackLinesAlongDepth(float* source, nint lineStride, int lines, int depth, int width, float* panel)
    {
        int p = 0;
        if (Avx.IsSupported)
        {
            // 8 x 8 transposes: eight lines (absent ones read as zero) by eight depths become eight 8-wide rows.
            for (; p + 8 <= depth; p += 8)
            {
                for (int group = 0; group < width; group += 8)
                    Transpose8x8ToPanel(source + group * lineStride + p, lineStride, lines - group, panel + p * width + group, width);
            }
        }
        for (; p < depth; p++)
        {
            float* d = panel + p * width;
            for (int r = 0; r < width; r++) d[r] = r < lines ? source[r * lineStride + p] : 0;
        }
    }

    /// <summary>
    /// panels[q * panelSize + p * width + r] = source[p * depthStride + q * width + r] for the ceil(count / width)
    /// panels q: the <paramref name="count"/> values at each p are contiguous. In steps of 32 depths, one panel at a
    /// time: the step's source lines stay in L1 from one panel to the next, and each panel is written front to back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackContiguousAtDepth(float* source, nint depthStride, int count, int depth, int width, float* panels, nint panelSize)
    {
        const int DepthStep = 32;
        for (int p0 = 0; p0 < depth; p0 += DepthStep)
        {
            int steps = Math.Min(DepthStep, depth - p0);
            for (int first = 0; first < count; first += width)
            {
                int values = Math.Min(width, count - first);
                float* src = source + p0 * depthStride + first;
                float* d = panels + first / width * panelSize + p0 * width;
                if (values == width)
                    CopyRows(src, depthStride, d, width, steps);
                else
                    CopyRowsPadded(src, depthStride, d, width, values, steps);
            }
        }
    }

    /// <summary>d[p * width + r] = src[p * depthStride + r] for r &lt; width, p &lt; steps: a fixed-width loop per kernel's panel width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRows(float* src, nint depthStride, float* d, int width, int steps)
    {
        switch (width)
        {
            case 32 when Vector512.IsHardwareAccelerated:
                for (int p = 0; p < steps; p++, src += depthStride, d += 32)
                {
                    Vector512.Load(src).Store(d);
                    Vector512.Load(src + 16).Store(d + 16);
                }
                break;
            case 16:
                for (int p = 0; p < steps; p++, src += depthStride, d += 16)
                {
                    Vector256.Load(src).Store(d);
                    Vector256.Load(src + 8).Store(d + 8);
                }
                break;
            case 8:
                for (int p = 0; p < steps; p++, src += depthStride, d += 8)
                    Vector256.Load(src).Store(d);
                break;
            case 6:
                for (int p = 0; p < steps; p++, src += depthStride, d += 6)
                {
                    Vector128.Load(src).Store(d);
                    *(long*)(d + 4) = *(long*)(src + 4);
                }
                break;
            default:
                CopyRowsPadded(src, depthStride, d, width, width, steps);
                break;
        }
    }

    /// <summary><paramref name="values"/> of <paramref name="width"/> values per depth, zeros after (the last panel, or a width with no vector loop).</summary>
    private static void CopyRowsPadded(float* src, nint depthStride, float* d, int width, int values, int steps)
    {
        for (int p = 0; p < steps; p++, src += depthStride, d += width)
        {
            for (int r = 0; r < width; r++) d[r] = r < values ? src[r] : 0;
        }
    }

    /// <summary>
    /// Reads an 8 x 8 block (line i at source + i * lineStride, only the first <paramref name="lines"/> lines exist)
    /// and writes its transpose as eight rows of 8 at dest + q * width. With width 6 each row spills two values into
    /// the next row's place, which that row's store then overwrites; the last row is stored as 6 values only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8ToPanel(float* source, nint lineStride, int lines, float* dest, int width)
    {
        Vector256<float> r0 = Line(source, lineStride, 0, lines), r1 = Line(source, lineStride, 1, lines);
        Vector256<float> r2 = Line(source, lineStride, 2, lines), r3 = Line(source, lineStride, 3, lines);
        Vector256<float> r4 = Line(source, lineStride, 4, lines), r5 = Line(source, lineStride, 5, lines);
        Vector256<float> r6 = Line(source, lineStride, 6, lines), r7 = Line(source, lineStride, 7, lines);

        // Interleave pairs, then quads, then swap 128-bit halves (the classic AVX 8 x 8 transpose).
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);

        Avx.Permute2x128(u0, u4, 0x20).Store(dest);
        Avx.Permute2x128(u1, u5, 0x20).Store(dest + width);
        Avx.Permute2x128(u2, u6, 0x20).Store(dest + 2 * width);
        Avx.Permute2x128(u3, u7, 0x20).Store(dest + 3 * width);
        Avx.Permute2x128(u0, u4, 0x31).Store(dest + 4 * width);
        Avx.Permute2x128(u1, u5, 0x31).Store(dest + 5 * width);
        Avx.Permute2x128(u2, u6, 0x31).Store(dest + 6 * width);
        Vector256<float> last = Avx.Permute2x128(u3, u7, 0x31);
        float* lastRow = dest + 7 * width;
        if (width >= 8)
        {
            last.Store(lastRow);
        }
        else
        {
            last.GetLower().Store(lastRow);
            *(long*)(lastRow + 4) = last.GetUpper().AsInt64().ToScalar();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Line(float* source, nint lineStride, int line, int lines) =>
        line < lines ? Avx.LoadVector256(source + line * lineStride) : Vector256<float>.Zero;
}
