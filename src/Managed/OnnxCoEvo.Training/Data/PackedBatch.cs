namespace OnnxCoEvo.Training.Data;

/// <summary>
/// Variable-length sequences packed back to back into one row of T tokens, with no padding. Each sequence keeps its own
/// positions (0, 1, ... reset at every sequence start) and attention stops at sequence boundaries (token t attends to
/// tokens s with SequenceStarts[q] &lt;= s &lt;= t inside its own sequence q). Outputs are per position t: the log-prob of
/// <see cref="TargetIds"/>[t] = the next token of the same sequence, scored where <see cref="LossMask"/>[t].
/// Packing instead of padding: no FLOPs on pad tokens, and the layout is the varlen one the CUDA kernels use
/// (cu_seqlens = <see cref="SequenceStarts"/>).
/// </summary>
public sealed class PackedBatch
{
    private PackedBatch(int[] tokenIds, int[] positions, int[] sequenceStarts, int[] targetIds, bool[] lossMask)
    {
        TokenIds = tokenIds;
        Positions = positions;
        SequenceStarts = sequenceStarts;
        TargetIds = targetIds;
        LossMask = lossMask;
        for (int t = 0; t < lossMask.Length; t++)
            if (lossMask[t]) ScoredTokenCount++;
    }

    /// <summary>[T] input token ids.</summary>
    public int[] TokenIds { get; }

    /// <summary>[T] position of each token inside its sequence (RoPE position).</summary>
    public int[] Positions { get; }

    /// <summary>[SequenceCount + 1] offsets: sequence q occupies [SequenceStarts[q], SequenceStarts[q + 1]).</summary>
    public int[] SequenceStarts { get; }

    /// <summary>[T] the token predicted at position t (next token of the same sequence), or -1 at a sequence's last token.</summary>
    public int[] TargetIds { get; }

    /// <summary>[T] true where log p(TargetIds[t]) enters a loss (the target is a trained token).</summary>
    public bool[] LossMask { get; }

    public int TokenCount => TokenIds.Length;

    public int SequenceCount => SequenceStarts.Length - 1;

    public int ScoredTokenCount { get; }

    public int SequenceLength(int q) => SequenceStarts[q + 1] - SequenceStarts[q];

    /// <summary>Index of the sequence holding position t (sequences are never empty, so starts strictly increase).</summary>
    public int SequenceOf(int t)
    {
        int index = Array.BinarySearch(SequenceStarts, 0, SequenceCount, t);
        return index >= 0 ? index : ~index - 1;
    }

    /// <summary>Packs sequences in order. Throws <see cref="ArgumentException"/> for an empty list, an empty sequence,
    /// a mask of the wrong length, or a token id outside [0, vocabSize).</summary>
    public static PackedBatch Pack(IReadOnlyList<TrainingSequence> sequences, int vocabSize)
    {
        if (sequences.Count == 0)
            throw new ArgumentException("a batch needs at least one sequence");
        int total = 0;
        for (int q = 0; q < sequences.Count; q++)
        {
            var s = sequences[q];
            if (s.TokenIds.Length == 0)
                throw new ArgumentException($"sequence {q} is empty");
            if (s.LossMask.Length != s.TokenIds.Length)
                throw new ArgumentException($"sequence {q}: loss mask has {s.LossMask.Length} entries for {s.TokenIds.Length} tokens");
            total = checked(total + s.TokenIds.Length);
        }

        var tokens = new int[total];
        var positions = new int[total];
        var starts = new int[sequences.Count + 1];
        var targets = new int[total];
        var mask = new bool[total];
        int offset = 0;
        for (int q = 0; q < sequences.Count; q++)
        {
            var s = sequences[q];
            starts[q] = offset;
            int n = s.TokenIds.Length;
            for (int i = 0; i < n; i++)
            {
                int id = s.TokenIds[i];
                if ((uint)id >= (uint)vocabSize)
                    throw new ArgumentException($"sequence {q}, token {i}: id {id} is outside the vocabulary [0, {vocabSize})");
                tokens[offset + i] = id;
                positions[offset + i] = i;
                bool hasNext = i + 1 < n;
                targets[offset + i] = hasNext ? s.TokenIds[i + 1] : -1;
                mask[offset + i] = hasNext && s.LossMask[i + 1];
            }
            offset += n;
        }
        starts[^1] = offset;
        return new PackedBatch(tokens, positions, starts, targets, mask);
    }
}
