namespace OnnxCoEvo.Training.Data;

/// <summary>
/// One token sequence to train on or score: <see cref="LossMask"/>[i] is true where token i is a trained (assistant)
/// token, i.e. where log p(token i | tokens before i) enters a loss. Token 0 is never scored (it has no prefix).
/// </summary>
public sealed record TrainingSequence(int[] TokenIds, bool[] LossMask)
{
    public int Length => TokenIds.Length;

    /// <summary>Tokens that enter the loss: masked tokens after the first.</summary>
    public int ScoredTokenCount
    {
        get
        {
            int n = 0;
            for (int i = 1; i < LossMask.Length; i++)
                if (LossMask[i]) n++;
            return n;
        }
    }

    /// <summary>
    /// The sequence cut after its last scored token: under causal attention later tokens cannot change any scored
    /// log-prob, so they are pure cost (an agent episode's final observation, the page after its last action).
    /// </summary>
    public TrainingSequence WithoutUnscoredTail()
    {
        int end = Array.LastIndexOf(LossMask, true) + 1;
        return end <= 1 || end == Length ? this : new TrainingSequence(TokenIds[..end], LossMask[..end]);
    }

    /// <summary>Every token after the first scored: plain language modelling over the whole text (observations included).</summary>
    public TrainingSequence WithEveryTokenScored()
    {
        var mask = new bool[Length];
        Array.Fill(mask, true);
        if (mask.Length > 0) mask[0] = false;
        return new TrainingSequence(TokenIds, mask);
    }
}

/// <summary>Which tokens of an SFT sample enter the loss.</summary>
public enum SftTokens
{
    /// <summary>The trained assistant turns (per-turn loss flags honoured): behaviour cloning.</summary>
    Assistant,

    /// <summary>Every token, observations and prompts included: language modelling of the environment's text, which teaches
    /// a model trained from scratch the pages' structure and to copy from them before it learns to act.</summary>
    All,
}
