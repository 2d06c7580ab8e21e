namespace OnnxCoEvo.Training.Losses;

/// <summary>
/// Supervised fine-tuning loss over scored (assistant) tokens: L = -(1/N) Σ_t m_t log p_t, where N is the number of
/// scored tokens in the whole optimizer batch (ETO/IPR's FastChat SFT; HF Trainer's token mean).
/// </summary>
/// <remarks>
/// N is passed in rather than counted here because a batch is usually run as several micro-batches. Taking each
/// micro-batch's own token mean and averaging those (the classic gradient-accumulation bug, fixed in transformers 4.46 with
/// num_items_in_batch) weights a token by 1/(its micro-batch's token count), so tokens of short micro-batches count more.
/// Dividing every micro-batch by the batch's N makes the accumulated loss and gradient exactly the full-batch mean.
/// </remarks>
public static class SftLoss
{
    /// <summary>
    /// This micro-batch's share of the batch loss, Σ_t m_t (-log p_t) / N, computed in double; writes dL/d(log p_t) into
    /// <paramref name="gradient"/> (zero at unscored tokens).
    /// </summary>
    /// <param name="tokenLogProbs">[T] log p of each position's target token.</param>
    /// <param name="lossMask">[T] m_t: true where the token is scored.</param>
    /// <param name="batchScoredTokens">N: scored tokens over every micro-batch of the optimizer batch.</param>
    /// <param name="gradient">[T] output.</param>
    public static double Compute(ReadOnlySpan<float> tokenLogProbs, ReadOnlySpan<bool> lossMask, long batchScoredTokens, Span<float> gradient)
    {
        LossArguments.RequireSameLength(tokenLogProbs.Length, lossMask.Length, nameof(lossMask));
        LossArguments.RequireSameLength(tokenLogProbs.Length, gradient.Length, nameof(gradient));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchScoredTokens, 1);
        // L = -(1/N) Σ_t m_t logp_t   =>   dL/dlogp_t = -m_t / N
        double inverseCount = 1.0 / batchScoredTokens;
        float tokenGradient = (float)-inverseCount;
        double sum = 0;
        for (int t = 0; t < tokenLogProbs.Length; t++)
        {
            if (lossMask[t])
            {
                sum += tokenLogProbs[t];
                gradient[t] = tokenGradient;
            }
            else
            {
                gradient[t] = 0;
            }
        }
        return -sum * inverseCount;
    }
}

internal static class LossArguments
{
    public static void RequireSameLength(int expected, int actual, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} has {actual} elements; {expected} expected", name);
    }
}
