using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Causal grouped-query attention over packed variable-length sequences, fp32 CPU reference. Twin of
/// native/kernels/causal_attention.cu (a FlashAttention-style varlen kernel: cu_seqlens = sequence starts, saved
/// logsumexp, probabilities recomputed in backward).
/// </summary>
public static partial class CausalAttention
{
    // Shapes: T tokens packed as sequences [starts[q], starts[q + 1]); H query heads share Hkv key/value heads
    // (H % Hkv == 0; query head h reads kv head h / (H / Hkv), as HF repeat_kv); D = headDim; scale = 1 / sqrt(D).
    // Visible keys of token t in sequence q: s in [max(starts[q], t - window + 1), t] (window = infinity when unset;
    // Mistral's sliding_window: s visible iff t - s < window).
    // Forward, per (t, h) over the visible s:
    //   S[s] = scale * q[t, h] . k[s, kv(h)]
    //   lse[t, h] = m + log(sum_s exp(S[s] - m)),  m = max_s S[s]
    //   P[s] = exp(S[s] - m) / sum,  o[t, h] = sum_s P[s] v[s, kv(h)]
    // Backward (P recomputed as exp(S - lse), so only lse [T, H] is saved, never the T x T probabilities):
    //   dP[s]    = do[t, h] . v[s]
    //   delta    = sum_s P[s] dP[s]                       (= do . o; the row is at hand so it is summed directly)
    //   dS[s]    = P[s] (dP[s] - delta)
    //   dq[t, h] = scale * sum_s dS[s] k[s]
    //   dk[s]   += scale * dS[s] q[t, h]
    //   dv[s]   += P[s] do[t, h]
    // Layout: q, o, dq, do [T, H, D]; k, v, dk, dv [T, Hkv, D] row-major; lse [T, H].
    // Parallelism: forward over (sequence, query head) items, backward over (sequence, kv head) items; each item owns
    // its output rows and accumulates dk/dv over its query heads and tokens in a fixed order: deterministic.
    // Tiling (see Tile): an item first copies its kv head's K (and V) rows into contiguous scratch, K transposed in
    // 16-key panels, then takes query rows in blocks of 4 that share every K/V load: S for a block is 4 rows of
    // Vector512 FMA chains over d, softmax per row (exp evaluated in double), then o = P V (forward) or dq = dS K,
    // dk += dS^T q, dv += P^T do (backward; dk/dv rows are added in token order, so the block changes no sum). At most
    // 4 score rows (plus the dP rows) per worker: never a T x T matrix. All indices are local to the sequence, so a
    // sequence gets the same bits wherever it is packed and on any thread.

    /// <summary>Attention output and the per-row logsumexp that <see cref="Backward"/> needs.</summary>
    /// <param name="slidingWindow">Mistral's window in tokens, or null for full causal attention.</param>
    public static unsafe void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> sequenceStarts,
        Span<float> output, Span<float> logSumExp, int heads, int kvHeads, int headDim, int? slidingWindow = null)
    {
        var shape = new Shape(sequenceStarts, heads, kvHeads, headDim, slidingWindow);
        shape.RequireQuery(q.Length, nameof(q));
        shape.RequireKeyValue(k.Length, nameof(k));
        shape.RequireKeyValue(v.Length, nameof(v));
        shape.RequireQuery(output.Length, nameof(output));
        shape.RequireRows(logSumExp.Length, nameof(logSumExp));
        float scale = 1f / MathF.Sqrt(headDim);
        int[] starts = sequenceStarts.ToArray();

        fixed (float* pq = q, pk = k, pv = v, po = output, pl = logSumExp)
        {
            float* qp = pq, kp = pk, vp = pv, op = po, lp = pl;
            RowParallel.ForEachItem(shape.SequenceCount * heads, shape.WorkPerItem, item =>
            {
                int sequence = item / heads, head = item % heads, kvHead = head / shape.Group;
                int start = starts[sequence], n = starts[sequence + 1] - start;
                var tile = new Tile(n, headDim);
                float* scratch = Tile.Scratch(tile.ForwardFloats);
                float* kt = scratch, vr = kt + tile.TransposedFloats, rows = vr + tile.RowsFloats;
                tile.GatherTransposed(kp + shape.KeyValueOffset(start, kvHead), kvHeads * headDim, kt);
                tile.GatherRows(vp + shape.KeyValueOffset(start, kvHead), kvHeads * headDim, vr);
                int queryStride = heads * headDim;
                int local = 0;
                // Blocks of query rows (local indices, so a sequence computes the same wherever it is packed).
                for (; local + Tile.Block <= n; local += Tile.Block)
                {
                    int blockFirst = shape.FirstVisibleKey(start, start + local) - start, last = local + Tile.Block - 1;
                    (int chunkStart, int chunkEnd) = Tile.Chunks(blockFirst, last);
                    tile.Scores4(qp + shape.QueryOffset(start + local, head), queryStride, kt, scale, chunkStart, chunkEnd, rows);
                    for (int r = 0; r < Tile.Block; r++)
                    {
                        int t = start + local + r;
                        float* row = rows + r * tile.PaddedRows;
                        Tile.Mask(row, chunkStart, shape.FirstVisibleKey(start, t) - start, local + r, chunkEnd, float.NegativeInfinity);
                        lp[(long)t * heads + head] = Softmax(row, chunkStart, chunkEnd);
                    }
                    tile.WeightedRowSum4(rows, vr, blockFirst, last, op + shape.QueryOffset(start + local, head), queryStride);
                }
                for (; local < n; local++)
                {
                    int t = start + local, first = shape.FirstVisibleKey(start, t) - start;
                    // row[first..local] = S; the rest of [chunkStart, chunkEnd) is -inf, so exp gives 0 there.
                    (int chunkStart, int chunkEnd) = tile.Scores(qp + shape.QueryOffset(t, head), kt, scale, first, local, rows);
                    lp[(long)t * heads + head] = Softmax(rows, chunkStart, chunkEnd);
                    tile.WeightedRowSum(rows, vr, first, local, op + shape.QueryOffset(t, head));
                }
            });
        }
    }

    /// <summary>dq, dk and dv (all written, not added) from the saved logsumexp and the output gradient.</summary>
    public static unsafe void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> sequenceStarts,
        ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> dOutput, Span<float> dq, Span<float> dk, Span<float> dv,
        int heads, int kvHeads, int headDim, int? slidingWindow = null)
    {
        var shape = new Shape(sequenceStarts, heads, kvHeads, headDim, slidingWindow);
        shape.RequireQuery(q.Length, nameof(q));
        shape.RequireKeyValue(k.Length, nameof(k));
        shape.RequireKeyValue(v.Length, nameof(v));
        shape.RequireRows(logSumExp.Length, nameof(logSumExp));
        shape.RequireQuery(dOutput.Length, nameof(dOutput));
        shape.RequireQuery(dq.Length, nameof(dq));
        shape.RequireKeyValue(dk.Length, nameof(dk));
        shape.RequireKeyValue(dv.Length, nameof(dv));
        float scale = 1f / MathF.Sqrt(headDim);
        int[] starts = sequenceStarts.ToArray();

        fixed (float* pq = q, pk = k, pv = v, pl = logSumExp, pdo = dOutput, pdq = dq, pdk = dk, pdv = dv)
        {
            float* qp = pq, kp = pk, vp = pv, lp = pl, dop = pdo, dqp = pdq, dkp = pdk, dvp = pdv;
            RowParallel.ForEachItem(shape.SequenceCount * kvHeads, shape.WorkPerItem * shape.Group * 2, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (item) =>
            {
                int sequence = item / kvHeads, kvHead = item % kvHeads;
                int start = starts[sequence], n = starts[sequence + 1] - start;
                var tile = new Tile(n, headDim);
                float* scratch = Tile.Scratch(tile.BackwardFloats);
                float* kt = scratch, vt = kt + tile.TransposedFloats, kr = vt + tile.TransposedFloats;
                float* dkr = kr + tile.RowsFloats, dvr = dkr + tile.RowsFloats;
                float* p = dvr + tile.RowsFloats, ds = p + Tile.Block * tile.PaddedRows;
                float* qt = ds + Tile.Block * tile.PaddedRows, dOt = qt + Tile.Block * tile.PaddedDim;
                long kvOffset = shape.KeyValueOffset(start, kvHead);
                int kvStride = kvHeads * headDim;
                tile.GatherTransposed(kp + kvOffset, kvStride, kt);
                tile.GatherTransposed(vp + kvOffset, kvStride, vt);
                tile.GatherRows(kp + kvOffset, kvStride, kr);
                new Span<float>(dkr, 2 * tile.RowsFloats).Clear();
                new Span<float>(qt, 2 * Tile.Block * tile.PaddedDim).Clear();
                int queryStride = heads * headDim;
                for (int head = kvHead * shape.Group; head < (kvHead + 1) * shape.Group; head++)
                {
                    int local = 0;
                    for (; local + Tile.Block <= n; local += Tile.Block)
                    {
                        int blockFirst = shape.FirstVisibleKey(start, start + local) - start, last = local + Tile.Block - 1;
                        (int chunkStart, int chunkEnd) = Tile.Chunks(blockFirst, last);
                        for (int r = 0; r < Tile.Block; r++)
                        {
                            int t = start + local + r, first = shape.FirstVisibleKey(start, t) - start;
                            float* pr = p + r * tile.PaddedRows, dsr = ds + r * tile.PaddedRows;
                            float* qr = qt + r * tile.PaddedDim, dOr = dOt + r * tile.PaddedDim;
                            new ReadOnlySpan<float>(qp + shape.QueryOffset(t, head), headDim).CopyTo(new Span<float>(qr, headDim));
                            new ReadOnlySpan<float>(dop + shape.QueryOffset(t, head), headDim).CopyTo(new Span<float>(dOr, headDim));
                            (int rowStart, int rowEnd) = tile.ScoresAndDots(qr, dOr, kt, vt, scale, lp[(long)t * heads + head], first, local + r, pr, dsr);
                            // The block's other chunks are masked for this row: P = 0, dP = 0.
                            Tile.Mask(pr, chunkStart, rowStart, rowEnd - 1, chunkEnd, float.NegativeInfinity);
                            Tile.Mask(dsr, chunkStart, rowStart, rowEnd - 1, chunkEnd, 0);
                            Tile.Exp(pr, chunkStart, chunkEnd);
                            Tile.SoftmaxGradient(pr, dsr, chunkStart, chunkEnd, scale);
                        }
                        tile.WeightedRowSum4(ds, kr, blockFirst, last, dqp + shape.QueryOffset(start + local, head), queryStride);
                        tile.AddOuter4(ds, qt, blockFirst, last, dkr);
                        tile.AddOuter4(p, dOt, blockFirst, last, dvr);
                    }
                    for (; local < n; local++)
                    {
                        int t = start + local, first = shape.FirstVisibleKey(start, t) - start;
                        new ReadOnlySpan<float>(qp + shape.QueryOffset(t, head), headDim).CopyTo(new Span<float>(qt, headDim));
                        new ReadOnlySpan<float>(dop + shape.QueryOffset(t, head), headDim).CopyTo(new Span<float>(dOt, headDim));
                        // p = S - lse (-inf where masked), ds = dP (0 where masked); then p = exp(p) = P.
                        (int chunkStart, int chunkEnd) = tile.ScoresAndDots(qt, dOt, kt, vt, scale, lp[(long)t * heads + head], first, local, p, ds);
                        Tile.Exp(p, chunkStart, chunkEnd);
                        // ds = scale * dS = scale * P (dP - delta), delta = sum_s P dP
                        Tile.SoftmaxGradient(p, ds, chunkStart, chunkEnd, scale);
                        tile.WeightedRowSum(ds, kr, first, local, dqp + shape.QueryOffset(t, head));
                        tile.AddOuter(ds, qt, first, local, dkr);
                        tile.AddOuter(p, dOt, first, local, dvr);
                    }
                }
                tile.ScatterRows(dkr, dkp + kvOffset, kvStride);
                tile.ScatterRows(dvr, dvp + kvOffset, kvStride);
            });
        }
    }

    /// <summary>row = softmax(row) over the chunks [start, end) (masked entries -inf); returns the logsumexp.</summary>
    private static unsafe float Softmax(float* row, int start, int end)
    {
        float max = Tile.MaxOf(row, start, end);
        var span = new Span<float>(row + start, end - start);
        TensorPrimitives.Subtract(span, max, span);
        Tile.Exp(row, start, end);
        float sum = Tile.SumOf(row, start, end);
        TensorPrimitives.Multiply(span, 1f / sum, span);
        return (float)(max + Math.Log(sum));
    }

    /// <summary>The validated shape of one call: sequences, heads, offsets and the visible-key rule.</summary>
    private readonly struct Shape
    {
        public Shape(ReadOnlySpan<int> sequenceStarts, int heads, int kvHeads, int headDim, int? slidingWindow)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(kvHeads, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
            if (heads % kvHeads != 0)
                throw new ArgumentException($"{kvHeads} key/value heads do not divide {heads} query heads", nameof(kvHeads));
            if (slidingWindow is < 1)
                throw new ArgumentOutOfRangeException(nameof(slidingWindow), slidingWindow, "a sliding window must be at least 1 token");
            if (sequenceStarts.Length < 2 || sequenceStarts[0] != 0)
                throw new ArgumentException("sequence starts [sequences + 1] must begin at 0 and hold at least one sequence", nameof(sequenceStarts));
            long longest = 0;
            for (int i = 1; i < sequenceStarts.Length; i++)
            {
                if (sequenceStarts[i] <= sequenceStarts[i - 1])
                    throw new ArgumentException($"sequence starts must increase strictly; entry {i} is {sequenceStarts[i]} after {sequenceStarts[i - 1]}", nameof(sequenceStarts));
                longest = Math.Max(longest, sequenceStarts[i] - sequenceStarts[i - 1]);
            }
            Tokens = sequenceStarts[^1];
            SequenceCount = sequenceStarts.Length - 1;
            Heads = heads;
            KvHeads = kvHeads;
            HeadDim = headDim;
            Group = heads / kvHeads;
            Window = slidingWindow ?? int.MaxValue;
            WorkPerItem = Math.Min(longest, Window) * longest * headDim;
        }

        public int Tokens { get; }
        public int SequenceCount { get; }
        public int Heads { get; }
        public int KvHeads { get; }
        public int HeadDim { get; }
        public int Group { get; }
        public int Window { get; }
        public long WorkPerItem { get; }

        public int FirstVisibleKey(int sequenceStart, int t) => Window >= t - sequenceStart + 1 ? sequenceStart : t - Window + 1;

        public long QueryOffset(int t, int head) => ((long)t * Heads + head) * HeadDim;

        public long KeyValueOffset(int s, int kvHead) => ((long)s * KvHeads + kvHead) * HeadDim;

        public void RequireQuery(int length, string name) => Require(length, (long)Tokens * Heads * HeadDim, name, "[T, heads, headDim]");

        public void RequireKeyValue(int length, string name) => Require(length, (long)Tokens * KvHeads * HeadDim, name, "[T, kvHeads, headDim]");

        public void RequireRows(int length, string name) => Require(length, (long)Tokens * Heads, name, "[T, heads]");

        private static void Require(int length, long needed, string name, string shape)
        {
            if (length < needed)
                throw new ArgumentException($"{name} {shape} has {length} elements but {needed} are needed", name);
        }
    }
}
