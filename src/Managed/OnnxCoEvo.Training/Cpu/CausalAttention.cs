using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Causal grouped-query attention over packed variable-length sequences, fp32 CPU reference. Twin of
/// native/kernels/causal_attention.cu (a FlashAttention-style varlen kernel: cu_seqlens = sequence starts, saved
/// logsumexp, probabilities recomputed in backward).
/// </summary>
public static class CausalAttention
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
            var qs = new Pinned<float>(pq, q.Length);
            var ks = new Pinned<float>(pk, k.Length);
            var vs = new Pinned<float>(pv, v.Length);
            var os = new Pinned<float>(po, output.Length);
            var ls = new Pinned<float>(pl, logSumExp.Length);
            RowParallel.ForEachItem(shape.SequenceCount * heads, shape.WorkPerItem, item =>
            {
                int sequence = item / heads, head = item % heads, kvHead = head / shape.Group;
                int start = starts[sequence], end = starts[sequence + 1];
                var scores = new float[end - start];
                for (int t = start; t < end; t++)
                {
                    int first = shape.FirstVisibleKey(start, t);
                    Span<float> row = scores.AsSpan(0, t - first + 1);
                    ReadOnlySpan<float> qt = qs.Slice(shape.QueryOffset(t, head), headDim);
                    for (int s = first; s <= t; s++)
                        row[s - first] = scale * TensorPrimitives.Dot(qt, ks.Slice(shape.KeyValueOffset(s, kvHead), headDim));
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, row);
                    TensorPrimitives.Exp(row, row);
                    float sum = TensorPrimitives.Sum(row);
                    ls[(long)t * heads + head] = max + MathF.Log(sum);
                    TensorPrimitives.Multiply(row, 1f / sum, row);
                    Span<float> ot = os.Slice(shape.QueryOffset(t, head), headDim);
                    ot.Clear();
                    for (int s = first; s <= t; s++)
                        TensorPrimitives.MultiplyAdd(vs.Slice(shape.KeyValueOffset(s, kvHead), headDim), row[s - first], ot, ot);
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
            var qs = new Pinned<float>(pq, q.Length);
            var ks = new Pinned<float>(pk, k.Length);
            var vs = new Pinned<float>(pv, v.Length);
            var ls = new Pinned<float>(pl, logSumExp.Length);
            var dos = new Pinned<float>(pdo, dOutput.Length);
            var dqs = new Pinned<float>(pdq, dq.Length);
            var dks = new Pinned<float>(pdk, dk.Length);
            var dvs = new Pinned<float>(pdv, dv.Length);
            RowParallel.ForEachItem(shape.SequenceCount * kvHeads, shape.WorkPerItem * shape.Group * 2, item =>
            {
                int sequence = item / kvHeads, kvHead = item % kvHeads;
                int start = starts[sequence], end = starts[sequence + 1];
                for (int s = start; s < end; s++)
                {
                    dks.Slice(shape.KeyValueOffset(s, kvHead), headDim).Clear();
                    dvs.Slice(shape.KeyValueOffset(s, kvHead), headDim).Clear();
                }
                var probabilities = new float[end - start];
                var dProbabilities = new float[end - start];
                for (int head = kvHead * shape.Group; head < (kvHead + 1) * shape.Group; head++)
                {
                    for (int t = start; t < end; t++)
                    {
                        int first = shape.FirstVisibleKey(start, t);
                        int count = t - first + 1;
                        Span<float> p = probabilities.AsSpan(0, count);
                        Span<float> dp = dProbabilities.AsSpan(0, count);
                        ReadOnlySpan<float> qt = qs.Slice(shape.QueryOffset(t, head), headDim);
                        ReadOnlySpan<float> dOt = dos.Slice(shape.QueryOffset(t, head), headDim);
                        for (int s = first; s <= t; s++)
                        {
                            long kv = shape.KeyValueOffset(s, kvHead);
                            p[s - first] = scale * TensorPrimitives.Dot(qt, ks.Slice(kv, headDim));
                            dp[s - first] = TensorPrimitives.Dot(dOt, vs.Slice(kv, headDim));
                        }
                        TensorPrimitives.Subtract(p, ls[(long)t * heads + head], p);
                        TensorPrimitives.Exp(p, p);
                        float delta = TensorPrimitives.Dot(p, dp);
                        // dp becomes scale * dS = scale * P (dP - delta)
                        TensorPrimitives.Subtract(dp, delta, dp);
                        TensorPrimitives.Multiply(dp, p, dp);
                        TensorPrimitives.Multiply(dp, scale, dp);
                        Span<float> dqt = dqs.Slice(shape.QueryOffset(t, head), headDim);
                        dqt.Clear();
                        for (int s = first; s <= t; s++)
                        {
                            long kv = shape.KeyValueOffset(s, kvHead);
                            TensorPrimitives.MultiplyAdd(ks.Slice(kv, headDim), dp[s - first], dqt, dqt);
                            Span<float> dkRow = dks.Slice(kv, headDim);
                            TensorPrimitives.MultiplyAdd(qt, dp[s - first], dkRow, dkRow);
                            Span<float> dvRow = dvs.Slice(kv, headDim);
                            TensorPrimitives.MultiplyAdd(dOt, p[s - first], dvRow, dvRow);
                        }
                    }
                }
            });
        }
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
