namespace OnnxCoEvo.Training.Losses;

/// <summary>
/// The bridge between token and sequence log-probs for packed batches (see <c>PackedBatch</c>): a sequence's log π(y|x)
/// is the <b>sum</b> (not the mean; DPO's average_log_prob=False) of its scored tokens' log-probs, and a loss gradient
/// with respect to that sum reaches each scored token unchanged.
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>sums[q] = Σ_{t in sequence q} m_t log p_t, in double.</summary>
    /// <param name="sequenceStarts">[Q + 1] offsets: sequence q is [starts[q], starts[q + 1]).</param>
    public static void Sum(ReadOnlySpan<float> tokenLogProbs, ReadOnlySpan<bool> lossMask, ReadOnlySpan<int> sequenceStarts, Span<double> sums)
    {
        CheckLayout(tokenLogProbs.Length, lossMask.Length, sequenceStarts, sums.Length);
        for (int q = 0; q < sums.Length; q++)
        {
            double sum = 0;
            for (int t = sequenceStarts[q]; t < sequenceStarts[q + 1]; t++)
                if (lossMask[t])
                    sum += tokenLogProbs[t];
            sums[q] = sum;
        }
    }

    /// <summary>
    /// The chain rule through <see cref="Sum"/>: with S_q = Σ_t m_t logp_t, dL/dlogp_t = m_t dL/dS_q for t in sequence q.
    /// Writes every element of <paramref name="tokenGradients"/> (zero at unscored tokens).
    /// </summary>
    public static void BroadcastGradient(ReadOnlySpan<double> sequenceGradients, ReadOnlySpan<bool> lossMask, ReadOnlySpan<int> sequenceStarts,
        Span<float> tokenGradients)
    {
        CheckLayout(tokenGradients.Length, lossMask.Length, sequenceStarts, sequenceGradients.Length);
        for (int q = 0; q < sequenceGradients.Length; q++)
        {
            float gradient = (float)sequenceGradients[q];
            for (int t = sequenceStarts[q]; t < sequenceStarts[q + 1]; t++)
                tokenGradients[t] = lossMask[t] ? gradient : 0;
        }
    }

    private static void CheckLayout(int tokenCount, int maskLength, ReadOnlySpan<int> sequenceStarts, int sequenceCount)
    {
        LossArguments.RequireSameLength(tokenCount, maskLength, "lossMask");
        LossArguments.RequireSameLength(sequenceCount + 1, sequenceStarts.Length, "sequenceStarts");
        if (sequenceStarts[0] != 0 || sequenceStarts[^1] != tokenCount)
            throw new ArgumentException($"sequence starts must run from 0 to the token count {tokenCount}; they run from {sequenceStarts[0]} to {sequenceStarts[^1]}", nameof(sequenceStarts));
        for (int q = 0; q < sequenceCount; q++)
            if (sequenceStarts[q + 1] < sequenceStarts[q])
                throw new ArgumentException($"sequence starts decrease at index {q + 1}", nameof(sequenceStarts));
    }
}
