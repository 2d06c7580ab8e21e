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
}
