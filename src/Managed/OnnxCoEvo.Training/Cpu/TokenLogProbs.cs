using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// The LM head fused with log-softmax and the gather of each target token's log-probability, fp32 CPU reference.
/// Twin of native/kernels/token_logprobs.cu. Only scored rows (loss mask set) are computed: in agent data most tokens
/// are observations and never reach the head. Rows go through in chunks so the [T, vocab] logits never exist at once.
/// </summary>
public static class TokenLogProbs
{
    // Forward, per scored row t (z = h[t] W^T, the logits [vocab]):
    //   m = max_v z[v];  lse[t] = m + log(sum_v exp(z[v] - m))
    //   logp[t] = (z[target[t]] - m) - log(sum_v exp(z[v] - m))          (= z[target] - lse, without cancellation)
    // Backward from dlogp[t] (logits recomputed chunk by chunk from h and W; only lse [T] is saved):
    //   p = exp(z - lse[t]);  dz = dlogp[t] * (onehot(target[t]) - p)
    //   dh[t] = dz W           Gemm NN per chunk  [rows, vocab] x [vocab, dim]
    //   dW   += dz^T h[t]      Gemm TN per chunk, chunks in token order
    // Layout: h, dh [T, dim]; W, dW [vocab, dim]; target, mask, logp, dlogp, lse [T]; a chunk's logits [rows, vocab].
    // Recompute rather than keep: keeping the chunks' logits would cost T x vocab floats, which is what chunking avoids;
    // recomputing costs one more head GEMM over the scored rows.

    /// <summary>Logits per chunk: 4M floats (16 MB), i.e. 27 rows at a 152k vocabulary, 4096 rows at 1k.</summary>
    public const int DefaultChunkLogits = 1 << 22;

    /// <summary>Scored rows per chunk for a vocabulary (at least 1).</summary>
    public static int ChunkRows(int vocab, int chunkLogits = DefaultChunkLogits) => Math.Max(1, chunkLogits / Math.Max(1, vocab));

    /// <summary>
    /// logProbs[t] = log softmax(h[t] W^T)[target[t]] and logSumExp[t] for scored t; both 0 where the mask is unset.
    /// </summary>
    /// <param name="chunkRows">Scored rows per head GEMM; 0 takes <see cref="ChunkRows"/>.</param>
    public static void Forward(ReadOnlySpan<float> hidden, ReadOnlySpan<float> headWeight, ReadOnlySpan<int> targetIds, ReadOnlySpan<bool> lossMask,
        Span<float> logProbs, Span<float> logSumExp, int tokens, int dim, int vocab, int chunkRows = 0)
    {
        int[] scored = ScoredRows(hidden.Length, headWeight.Length, targetIds, lossMask, tokens, dim, vocab);
        RequireRows(logProbs.Length, tokens, nameof(logProbs));
        RequireRows(logSumExp.Length, tokens, nameof(logSumExp));
        logProbs[..tokens].Clear();
        logSumExp[..tokens].Clear();
        int rowsPerChunk = chunkRows > 0 ? chunkRows : ChunkRows(vocab);
        var chunkHidden = new float[Math.Min(rowsPerChunk, Math.Max(1, scored.Length)) * dim];
        var logits = new float[Math.Min(rowsPerChunk, Math.Max(1, scored.Length)) * vocab];
        int[] targets = targetIds[..tokens].ToArray();
        for (int first = 0; first < scored.Length; first += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, scored.Length - first);
            ReadOnlySpan<int> rows = scored.AsSpan(first, count);
            ChunkLogits(hidden, headWeight, rows, chunkHidden, logits, dim, vocab);
            var results = new (float LogProb, float LogSumExp)[count];
            RowParallel.For(count, 3L * vocab, (a, b) =>
            {
                for (int i = a; i < b; i++)
                {
                    Span<float> z = logits.AsSpan(i * vocab, vocab);
                    float target = z[targets[scored[first + i]]];
                    float max = TensorPrimitives.Max(z);
                    TensorPrimitives.Subtract(z, max, z);
                    TensorPrimitives.Exp(z, z);
                    float logSum = MathF.Log(TensorPrimitives.Sum(z));
                    results[i] = ((target - max) - logSum, max + logSum);
                }
            });
            for (int i = 0; i < count; i++)
            {
                logProbs[rows[i]] = results[i].LogProb;
                logSumExp[rows[i]] = results[i].LogSumExp;
            }
        }
    }

    /// <summary>
    /// dHidden (written: rows not scored get 0; skipped when empty) and dHeadWeight += (skipped when empty: a frozen
    /// head), from <paramref name="dLogProbs"/> [T] and the logSumExp the forward saved.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> hidden, ReadOnlySpan<float> headWeight, ReadOnlySpan<int> targetIds, ReadOnlySpan<bool> lossMask,
        ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> dLogProbs, Span<float> dHidden, Span<float> dHeadWeight,
        int tokens, int dim, int vocab, int chunkRows = 0)
    {
        int[] scored = ScoredRows(hidden.Length, headWeight.Length, targetIds, lossMask, tokens, dim, vocab);
        RequireRows(logSumExp.Length, tokens, nameof(logSumExp));
        RequireRows(dLogProbs.Length, tokens, nameof(dLogProbs));
        if (!dHidden.IsEmpty)
        {
            RequireRows(dHidden.Length, (long)tokens * dim, nameof(dHidden));
            dHidden[..(tokens * dim)].Clear();
        }
        if (!dHeadWeight.IsEmpty)
            RequireRows(dHeadWeight.Length, (long)vocab * dim, nameof(dHeadWeight));
        if (dHidden.IsEmpty && dHeadWeight.IsEmpty)
            return;

        int rowsPerChunk = chunkRows > 0 ? chunkRows : ChunkRows(vocab);
        int capacity = Math.Min(rowsPerChunk, Math.Max(1, scored.Length));
        var chunkHidden = new float[capacity * dim];
        var logits = new float[capacity * vocab];
        var chunkDHidden = new float[capacity * dim];
        float[] lse = logSumExp[..tokens].ToArray();
        float[] dLogProb = dLogProbs[..tokens].ToArray();
        int[] targets = targetIds[..tokens].ToArray();
        for (int first = 0; first < scored.Length; first += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, scored.Length - first);
            ReadOnlySpan<int> rows = scored.AsSpan(first, count);
            ChunkLogits(hidden, headWeight, rows, chunkHidden, logits, dim, vocab);
            RowParallel.For(count, 3L * vocab, (a, b) =>
            {
                for (int i = a; i < b; i++)
                {
                    int t = scored[first + i];
                    Span<float> z = logits.AsSpan(i * vocab, vocab);
                    TensorPrimitives.Subtract(z, lse[t], z);
                    TensorPrimitives.Exp(z, z);
                    TensorPrimitives.Multiply(z, -dLogProb[t], z);
                    z[targets[t]] += dLogProb[t];
                }
            });
            Span<float> dz = logits.AsSpan(0, count * vocab);
            if (!dHeadWeight.IsEmpty)
                Gemm.Multiply(dz, chunkHidden, dHeadWeight, vocab, dim, count, transA: true, accumulate: true);
            if (!dHidden.IsEmpty)
            {
                Gemm.Multiply(dz, headWeight, chunkDHidden, count, dim, vocab);
                for (int i = 0; i < count; i++)
                    chunkDHidden.AsSpan(i * dim, dim).CopyTo(dHidden.Slice(rows[i] * dim, dim));
            }
        }
    }

    /// <summary>Gathers the chunk's rows of h and computes their logits [rows, vocab] = h W^T.</summary>
    private static void ChunkLogits(ReadOnlySpan<float> hidden, ReadOnlySpan<float> headWeight, ReadOnlySpan<int> rows,
        Span<float> chunkHidden, Span<float> logits, int dim, int vocab)
    {
        for (int i = 0; i < rows.Length; i++)
            hidden.Slice(rows[i] * dim, dim).CopyTo(chunkHidden.Slice(i * dim, dim));
        Gemm.Multiply(chunkHidden, headWeight, logits, rows.Length, vocab, dim, transB: true);
    }

    /// <summary>Validates the shared inputs and lists the scored rows in token order.</summary>
    private static int[] ScoredRows(int hiddenLength, int weightLength, ReadOnlySpan<int> targetIds, ReadOnlySpan<bool> lossMask, int tokens, int dim, int vocab)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        RequireRows(hiddenLength, (long)tokens * dim, "hidden");
        RequireRows(weightLength, (long)vocab * dim, "headWeight");
        RequireRows(targetIds.Length, tokens, nameof(targetIds));
        RequireRows(lossMask.Length, tokens, nameof(lossMask));
        var scored = new List<int>();
        for (int t = 0; t < tokens; t++)
        {
            if (!lossMask[t])
                continue;
            if ((uint)targetIds[t] >= (uint)vocab)
                throw new ArgumentException($"token {t} is scored but its target id {targetIds[t]} is outside the vocabulary [0, {vocab})", nameof(targetIds));
            scored.Add(t);
        }
        return scored.ToArray();
    }

    private static void RequireRows(int length, long needed, string name)
    {
        if (length < needed)
            throw new ArgumentException($"{name} has {length} elements but {needed} are needed", name);
    }
}
