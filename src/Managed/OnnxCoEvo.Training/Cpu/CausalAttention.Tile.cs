using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OnnxCoEvo.Training.Cpu;

public static partial class CausalAttention
{
    // Hot loops are compiled optimised at once (AggressiveOptimization, as the GEMM kernels): a training run's first
    // steps would otherwise run them as tier-0 code, several times slower for Vector512 code.

    /// <summary>
    /// One (sequence, head) item's contiguous copies of K or V and the vector loops over them. Key indices are local to
    /// the sequence and padded to whole Vector512 chunks (zeros in the copies), so every value is computed by the same
    /// FMA sequence whatever the sequence's place in the pack or the thread: packed == alone and run-to-run bit-identical.
    /// Scores are rows of S = Q K^T: for one query row, each 16-key chunk is sum_i q[i] * Kt[i, chunk] (i ascending);
    /// weighted row sums (o = P V, dq = dS K) add the rows j = first..local as four interleaved partial sums
    /// (j - first mod 4) combined as (a0 + a1) + (a2 + a3).
    /// </summary>
    private readonly unsafe struct Tile
    {
        private const int Width = 16; // Vector512<float>.Count

        [ThreadStatic]
        private static float[]? t_scratch;

        public Tile(int rows, int headDim)
        {
            Rows = rows;
            HeadDim = headDim;
            PaddedRows = (rows + Width - 1) / Width * Width;
            PaddedDim = (headDim + Width - 1) / Width * Width;
        }

        public int Rows { get; }
        public int HeadDim { get; }
        public int PaddedRows { get; }
        public int PaddedDim { get; }

        /// <summary>
        /// This thread's pinned scratch of at least <paramref name="floats"/> floats (contents undefined). Items on one
        /// thread run one after another and never re-enter, so one buffer per thread serves every item and call.
        /// </summary>
        public static float* Scratch(int floats)
        {
            float[]? buffer = t_scratch;
            if (buffer is null || buffer.Length < floats)
                t_scratch = buffer = GC.AllocateUninitializedArray<float>(floats, pinned: true);
            return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        }

        /// <summary>Floats of a transposed copy [headDim, paddedRows].</summary>
        public int TransposedFloats => HeadDim * PaddedRows;

        /// <summary>Floats of a row copy [rows, paddedDim].</summary>
        public int RowsFloats => Rows * PaddedDim;

        /// <summary>Kt, V rows and one score row.</summary>
        public int ForwardFloats => TransposedFloats + RowsFloats + Block * PaddedRows;

        /// <summary>Kt, Vt, K rows, dK rows, dV rows, P and dS rows, padded q and do.</summary>
        public int BackwardFloats => 2 * TransposedFloats + 3 * RowsFloats + 2 * Block * (PaddedRows + PaddedDim);

        /// <summary>
        /// The transpose [headDim, paddedRows] stored as 16-key panels: dst[(j / 16) * headDim * 16 + i * 16 + j % 16] =
        /// src[j * stride + i] for j &lt; rows, 0 in the padding. One chunk's scores then read 16 * headDim contiguous
        /// floats, and a row of scores streams through the panels in order.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void GatherTransposed(float* src, int stride, float* dst)
        {
            for (int j = 0; j < PaddedRows; j++)
            {
                float* column = dst + (long)(j / Width) * Width * HeadDim + j % Width;
                if (j < Rows)
                {
                    float* line = src + (long)j * stride;
                    for (int i = 0; i < HeadDim; i++)
                        column[i * Width] = line[i];
                }
                else
                {
                    for (int i = 0; i < HeadDim; i++)
                        column[i * Width] = 0;
                }
            }
        }

        /// <summary>dst[j, i] = src[j * stride + i] for i &lt; headDim, 0 in the padding.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void GatherRows(float* src, int stride, float* dst)
        {
            for (int j = 0; j < Rows; j++)
            {
                new ReadOnlySpan<float>(src + (long)j * stride, HeadDim).CopyTo(new Span<float>(dst + (long)j * PaddedDim, HeadDim));
                new Span<float>(dst + (long)j * PaddedDim + HeadDim, PaddedDim - HeadDim).Clear();
            }
        }

        /// <summary>dst[j * stride + i] = src[j, i] for i &lt; headDim.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void ScatterRows(float* src, float* dst, int stride)
        {
            for (int j = 0; j < Rows; j++)
                new ReadOnlySpan<float>(src + (long)j * PaddedDim, HeadDim).CopyTo(new Span<float>(dst + (long)j * stride, HeadDim));
        }

        /// <summary>
        /// row[j] = scale * q . k[j] for the visible j in [first, local], -inf for the rest of the chunks that cover
        /// them; returns those chunks' [start, end).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (int Start, int End) Scores(float* q, float* kt, float scale, int first, int local, float* row)
        {
            int chunk = Width * HeadDim;
            int chunkStart = first & ~(Width - 1), chunkEnd = (local + Width) & ~(Width - 1);
            var scaleVector = Vector512.Create(scale);
            int c = chunkStart;
            // Four chunks at once: four independent FMA chains hide the FMA latency.
            for (; c + 4 * Width <= chunkEnd; c += 4 * Width)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* line = kt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, line += Width)
                {
                    var qi = Vector512.Create(q[i]);
                    a0 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(line), a0);
                    a1 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(line + chunk), a1);
                    a2 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(line + 2 * chunk), a2);
                    a3 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(line + 3 * chunk), a3);
                }
                (a0 * scaleVector).Store(row + c);
                (a1 * scaleVector).Store(row + c + Width);
                (a2 * scaleVector).Store(row + c + 2 * Width);
                (a3 * scaleVector).Store(row + c + 3 * Width);
            }
            for (; c < chunkEnd; c += Width)
            {
                Vector512<float> a0 = default;
                float* line = kt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, line += Width)
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[i]), Vector512.Load(line), a0);
                (a0 * scaleVector).Store(row + c);
            }
            for (int j = chunkStart; j < first; j++)
                row[j] = float.NegativeInfinity;
            for (int j = local + 1; j < chunkEnd; j++)
                row[j] = float.NegativeInfinity;
            return (chunkStart, chunkEnd);
        }

        /// <summary>
        /// Backward's recomputation: p[j] = scale * q . k[j] - lse (-inf where masked) and dp[j] = do . v[j] (0 where
        /// masked) over the chunks covering [first, local], which are returned.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (int Start, int End) ScoresAndDots(float* q, float* dOut, float* kt, float* vt, float scale, float lse,
            int first, int local, float* p, float* dp)
        {
            int chunk = Width * HeadDim;
            int chunkStart = first & ~(Width - 1), chunkEnd = (local + Width) & ~(Width - 1);
            var scaleVector = Vector512.Create(scale);
            var lseVector = Vector512.Create(lse);
            int c = chunkStart;
            for (; c + 2 * Width <= chunkEnd; c += 2 * Width)
            {
                Vector512<float> s0 = default, s1 = default, d0 = default, d1 = default;
                float* kLine = kt + (long)c * HeadDim, vLine = vt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, kLine += Width, vLine += Width)
                {
                    var qi = Vector512.Create(q[i]);
                    var di = Vector512.Create(dOut[i]);
                    s0 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(kLine), s0);
                    s1 = Vector512.FusedMultiplyAdd(qi, Vector512.Load(kLine + chunk), s1);
                    d0 = Vector512.FusedMultiplyAdd(di, Vector512.Load(vLine), d0);
                    d1 = Vector512.FusedMultiplyAdd(di, Vector512.Load(vLine + chunk), d1);
                }
                (s0 * scaleVector - lseVector).Store(p + c);
                (s1 * scaleVector - lseVector).Store(p + c + Width);
                d0.Store(dp + c);
                d1.Store(dp + c + Width);
            }
            for (; c < chunkEnd; c += Width)
            {
                Vector512<float> s0 = default, d0 = default;
                float* kLine = kt + (long)c * HeadDim, vLine = vt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, kLine += Width, vLine += Width)
                {
                    s0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[i]), Vector512.Load(kLine), s0);
                    d0 = Vector512.FusedMultiplyAdd(Vector512.Create(dOut[i]), Vector512.Load(vLine), d0);
                }
                (s0 * scaleVector - lseVector).Store(p + c);
                d0.Store(dp + c);
            }
            for (int j = chunkStart; j < first; j++)
                (p[j], dp[j]) = (float.NegativeInfinity, 0);
            for (int j = local + 1; j < chunkEnd; j++)
                (p[j], dp[j]) = (float.NegativeInfinity, 0);
            return (chunkStart, chunkEnd);
        }

        /// <summary>
        /// row[j] = exp(row[j]) over whole chunks [start, end), evaluated in double and rounded once: the fp32 vector
        /// exp is 1 ulp off and biased (exp(0) = 1.0000001), which shifts every logsumexp by ~1e-7. Inlined here because
        /// Vector512.Exp(double) is a call per 8 lanes (measured: it was half of the forward).
        /// </summary>
        public static void Exp(float* row, int start, int end)
        {
            for (int c = start; c < end; c += Width)
            {
                // Below -120 every float exp is 0 (exp(-120) ~ 8e-53); -inf (masked) lands there too.
                var x = Vector512.Max(Vector512.Load(row + c), Vector512.Create(-120f));
                Vector512.Narrow(ExpDouble(Vector512.WidenLower(x)), ExpDouble(Vector512.WidenUpper(x))).Store(row + c);
            }
        }

        /// <summary>
        /// exp(x) for x in [-120, 90]: x = n ln2 + r, |r| &lt;= ln2 / 2 (n = x log2(e) rounded by the 1.5 * 2^52 shift);
        /// exp(r) by its Taylor series to r^10 (truncation &lt; 3e-13 relative); 2^n added to the exponent bits.
        /// exp(0) = 1 exactly.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<double> ExpDouble(Vector512<double> x)
        {
            var shift = Vector512.Create(6755399441055744.0); // 1.5 * 2^52
            var k = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.4426950408889634), shift);
            var n = k - shift;
            var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.6931471805599453), x);
            r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-2.3190468138462996e-17), r);
            var p = Vector512.Create(1.0 / 3628800);
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 362880));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 40320));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 5040));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 720));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 120));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 24));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.0 / 6));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5));
            p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
            p = Vector512.FusedMultiplyAdd(p, r, Vector512<double>.One);
            // k's low mantissa bits hold 2^51 + n; shifted left 52 they are n << 52 (mod 2^64): n added to p's exponent.
            return (p.AsInt64() + (k.AsInt64() << 52)).AsDouble();
        }

        /// <summary>Query rows per block: the block's rows share every K, V (and dK, dV) load.</summary>
        public const int Block = 4;

        /// <summary>Union of the chunks covering the visible keys [first, last] of a block's rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (int Start, int End) Chunks(int first, int last) => (first & ~(Width - 1), (last + Width) & ~(Width - 1));

        /// <summary>row[j] = value for j in [start, end) outside [first, local].</summary>
        public static void Mask(float* row, int start, int first, int local, int end, float value)
        {
            for (int j = start; j < first; j++)
                row[j] = value;
            for (int j = local + 1; j < end; j++)
                row[j] = value;
        }

        /// <summary>
        /// rows[r * paddedRows + j] = scale * q_r . k[j] for the block's four query rows q_r = q + r * queryStride and
        /// j in [start, end) (whole chunks, unmasked): each value is the same FMA chain as <see cref="Scores"/>'s.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Scores4(float* q, int queryStride, float* kt, float scale, int start, int end, float* rows)
        {
            int chunk = Width * HeadDim;
            var scaleVector = Vector512.Create(scale);
            float* q1 = q + queryStride, q2 = q1 + queryStride, q3 = q2 + queryStride;
            int c = start;
            for (; c + 2 * Width <= end; c += 2 * Width)
            {
                Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default;
                Vector512<float> a20 = default, a21 = default, a30 = default, a31 = default;
                float* line = kt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, line += Width)
                {
                    var k0 = Vector512.Load(line);
                    var k1 = Vector512.Load(line + chunk);
                    var b = Vector512.Create(q[i]);
                    a00 = Vector512.FusedMultiplyAdd(b, k0, a00);
                    a01 = Vector512.FusedMultiplyAdd(b, k1, a01);
                    b = Vector512.Create(q1[i]);
                    a10 = Vector512.FusedMultiplyAdd(b, k0, a10);
                    a11 = Vector512.FusedMultiplyAdd(b, k1, a11);
                    b = Vector512.Create(q2[i]);
                    a20 = Vector512.FusedMultiplyAdd(b, k0, a20);
                    a21 = Vector512.FusedMultiplyAdd(b, k1, a21);
                    b = Vector512.Create(q3[i]);
                    a30 = Vector512.FusedMultiplyAdd(b, k0, a30);
                    a31 = Vector512.FusedMultiplyAdd(b, k1, a31);
                }
                float* o = rows + c;
                (a00 * scaleVector).Store(o);
                (a01 * scaleVector).Store(o + Width);
                o += PaddedRows;
                (a10 * scaleVector).Store(o);
                (a11 * scaleVector).Store(o + Width);
                o += PaddedRows;
                (a20 * scaleVector).Store(o);
                (a21 * scaleVector).Store(o + Width);
                o += PaddedRows;
                (a30 * scaleVector).Store(o);
                (a31 * scaleVector).Store(o + Width);
            }
            for (; c < end; c += Width)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* line = kt + (long)c * HeadDim;
                for (int i = 0; i < HeadDim; i++, line += Width)
                {
                    var k0 = Vector512.Load(line);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[i]), k0, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[i]), k0, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[i]), k0, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[i]), k0, a3);
                }
                (a0 * scaleVector).Store(rows + c);
                (a1 * scaleVector).Store(rows + PaddedRows + c);
                (a2 * scaleVector).Store(rows + 2 * PaddedRows + c);
                (a3 * scaleVector).Store(rows + 3 * PaddedRows + c);
            }
        }

        /// <summary>
        /// output_r[i] = sum_{j = first..last} w_r[j] rows[j, i] for the four rows w_r = w + r * paddedRows,
        /// output_r = output + r * outputStride (written, not added), with <see cref="WeightedRowSum"/>'s four partial
        /// sums; a row's weights are 0 outside its visible keys.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WeightedRowSum4(float* w, float* rows, int first, int last, float* output, int outputStride)
        {
            for (int r = 0; r < Block; r += 2)
                WeightedRowSum2(w + r * PaddedRows, rows, first, last, output + r * outputStride, outputStride);
        }

        /// <summary>Two rows of <see cref="WeightedRowSum4"/>: eight partial-sum chains share each row load.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WeightedRowSum2(float* w, float* rows, int first, int last, float* output, int outputStride)
        {
            float* w1 = w + PaddedRows;
            for (int d = 0; d < PaddedDim; d += Width)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                float* row = rows + (long)first * PaddedDim + d;
                int j = first;
                for (; j + 4 <= last + 1; j += 4, row += 4 * PaddedDim)
                {
                    var x0 = Vector512.Load(row);
                    var x1 = Vector512.Load(row + PaddedDim);
                    var x2 = Vector512.Load(row + 2 * PaddedDim);
                    var x3 = Vector512.Load(row + 3 * PaddedDim);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j]), x0, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 1]), x1, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 2]), x2, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 3]), x3, a3);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[j]), x0, b0);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[j + 1]), x1, b1);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[j + 2]), x2, b2);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[j + 3]), x3, b3);
                }
                // last - first + 1 is a multiple of 4 only when first is; the rest go to their chains as in WeightedRowSum.
                for (int m = 0; j <= last; j++, m++, row += PaddedDim)
                {
                    var x = Vector512.Load(row);
                    var wa = Vector512.Create(w[j]);
                    var wb = Vector512.Create(w1[j]);
                    if (m == 0) { a0 = Vector512.FusedMultiplyAdd(wa, x, a0); b0 = Vector512.FusedMultiplyAdd(wb, x, b0); }
                    else if (m == 1) { a1 = Vector512.FusedMultiplyAdd(wa, x, a1); b1 = Vector512.FusedMultiplyAdd(wb, x, b1); }
                    else { a2 = Vector512.FusedMultiplyAdd(wa, x, a2); b2 = Vector512.FusedMultiplyAdd(wb, x, b2); }
                }
                int count = Math.Min(Width, HeadDim - d);
                StoreFirst((a0 + a1) + (a2 + a3), output + d, count);
                StoreFirst((b0 + b1) + (b2 + b3), output + outputStride + d, count);
            }
        }

        /// <summary>accumulator[j, :] += w_0[j] x_0 + ... + w_3[j] x_3 (added in row order) for j = first..last.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void AddOuter4(float* w, float* x, int first, int last, float* accumulator)
        {
            float* w1 = w + PaddedRows, w2 = w1 + PaddedRows, w3 = w2 + PaddedRows;
            float* x1 = x + PaddedDim, x2 = x1 + PaddedDim, x3 = x2 + PaddedDim;
            for (int j = first; j <= last; j++)
            {
                var b0 = Vector512.Create(w[j]);
                var b1 = Vector512.Create(w1[j]);
                var b2 = Vector512.Create(w2[j]);
                var b3 = Vector512.Create(w3[j]);
                float* row = accumulator + (long)j * PaddedDim;
                for (int d = 0; d < PaddedDim; d += Width)
                {
                    var a = Vector512.FusedMultiplyAdd(b0, Vector512.Load(x + d), Vector512.Load(row + d));
                    a = Vector512.FusedMultiplyAdd(b1, Vector512.Load(x1 + d), a);
                    a = Vector512.FusedMultiplyAdd(b2, Vector512.Load(x2 + d), a);
                    Vector512.FusedMultiplyAdd(b3, Vector512.Load(x3 + d), a).Store(row + d);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreFirst(Vector512<float> value, float* destination, int count)
        {
            if (count == Width)
            {
                value.Store(destination);
                return;
            }
            for (int i = 0; i < count; i++)
                destination[i] = value.GetElement(i);
        }

        /// <summary>max over row[start, end) (order-free).</summary>
        public static float MaxOf(float* row, int start, int end)
        {
            var max = Vector512.Create(float.NegativeInfinity);
            for (int c = start; c < end; c += Width)
                max = Vector512.Max(max, Vector512.Load(row + c));
            float result = float.NegativeInfinity;
            for (int lane = 0; lane < Width; lane++)
                result = MathF.Max(result, max.GetElement(lane));
            return result;
        }

        /// <summary>sum over row[start, end): chunk-wise vector sums, then the lanes.</summary>
        public static float SumOf(float* row, int start, int end)
        {
            Vector512<float> sum = default;
            for (int c = start; c < end; c += Width)
                sum += Vector512.Load(row + c);
            return Vector512.Sum(sum);
        }

        /// <summary>delta = sum_j p[j] dp[j]; then dp[j] = scale * p[j] (dp[j] - delta) over [start, end).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void SoftmaxGradient(float* p, float* dp, int start, int end, float scale)
        {
            Vector512<float> sum = default;
            for (int c = start; c < end; c += Width)
                sum = Vector512.FusedMultiplyAdd(Vector512.Load(p + c), Vector512.Load(dp + c), sum);
            var delta = Vector512.Create(Vector512.Sum(sum));
            var scaleVector = Vector512.Create(scale);
            for (int c = start; c < end; c += Width)
                (Vector512.Load(p + c) * (Vector512.Load(dp + c) - delta) * scaleVector).Store(dp + c);
        }

        /// <summary>
        /// output[i] = sum_{j = first..local} w[j] rows[j, i] for i &lt; headDim (written, not added), as four partial
        /// sums a_m over j = first + m (mod 4), j ascending, combined as (a0 + a1) + (a2 + a3): the same arithmetic as
        /// <see cref="WeightedRowSum4"/>'s for a row whose first visible key is the block's.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WeightedRowSum(float* w, float* rows, int first, int local, float* output)
        {
            for (int d = 0; d < PaddedDim; d += Width)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* row = rows + (long)first * PaddedDim + d;
                int j = first;
                for (; j + 4 <= local + 1; j += 4, row += 4 * PaddedDim)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j]), Vector512.Load(row), a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 1]), Vector512.Load(row + PaddedDim), a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 2]), Vector512.Load(row + 2 * PaddedDim), a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 3]), Vector512.Load(row + 3 * PaddedDim), a3);
                }
                if (j <= local)
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j]), Vector512.Load(row), a0);
                if (j + 1 <= local)
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 1]), Vector512.Load(row + PaddedDim), a1);
                if (j + 2 <= local)
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(w[j + 2]), Vector512.Load(row + 2 * PaddedDim), a2);
                StoreFirst((a0 + a1) + (a2 + a3), output + d, Math.Min(Width, HeadDim - d));
            }
        }

        /// <summary>accumulator[j, :] += w[j] x for j = first..local (x padded to paddedDim).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void AddOuter(float* w, float* x, int first, int local, float* accumulator)
        {
            for (int j = first; j <= local; j++)
            {
                var wj = Vector512.Create(w[j]);
                float* row = accumulator + (long)j * PaddedDim;
                for (int d = 0; d < PaddedDim; d += Width)
                    Vector512.FusedMultiplyAdd(wj, Vector512.Load(x + d), Vector512.Load(row + d)).Store(row + d);
            }
        }
    }
}
