using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// How the next token is drawn from logits, in Hugging Face's order: temperature, then top-k, then top-p (nucleus).
/// <see cref="Temperature"/> 0 is greedy decoding (argmax; the other knobs are ignored).
/// </summary>
public sealed record SamplingOptions
{
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>0 = greedy; otherwise logits are divided by it before the softmax.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens; 0 = no limit.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 = no limit.</summary>
    public double TopP { get; init; } = 1.0;

    public bool IsGreedy => Temperature == 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad knob.</summary>
    public void Validate()
    {
        if (!double.IsFinite(Temperature) || Temperature < 0)
            throw new ArgumentException($"temperature must be finite and >= 0 (0 = greedy), is {Temperature}", nameof(Temperature));
        if (TopK < 0)
            throw new ArgumentException($"top-k must be >= 0 (0 = off), is {TopK}", nameof(TopK));
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentException($"top-p must be in (0, 1], is {TopP}", nameof(TopP));
    }
}

/// <summary>Greedy and temperature / top-k / top-p sampling over one row of logits. Stateless; the caller owns the RNG.</summary>
public static class TokenSampler
{
    /// <summary>The index of the largest logit (the first one on ties).</summary>
    public static int Argmax(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("no logits", nameof(logits));
        int best = 0;
        float max = logits[0];
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > max)
            {
                max = logits[i];
                best = i;
            }
        }
        return best;
    }

    /// <summary>Draws a token id: argmax when greedy, else one draw of <paramref name="random"/> over <see cref="Candidates"/>.</summary>
    public static int Sample(ReadOnlySpan<float> logits, SamplingOptions options, ref Xoshiro256StarStar random)
    {
        if (options.IsGreedy)
            return Argmax(logits);
        (int[] ids, double[] probabilities) = Candidates(logits, options);
        double u = random.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return ids[i];
        }
        return ids[^1]; // rounding left u above the last cumulative sum
    }

    /// <summary>
    /// The tokens sampling can pick, most likely first (ties: lower id first), with their renormalised probabilities:
    /// softmax(logits / T) restricted to the top k, then to the shortest prefix whose probability reaches top-p.
    /// </summary>
    public static (int[] Ids, double[] Probabilities) Candidates(ReadOnlySpan<float> logits, SamplingOptions options)
    {
        if (logits.IsEmpty) throw new ArgumentException("no logits", nameof(logits));
        if (options.IsGreedy)
            return ([Argmax(logits)], [1.0]);
        int[] ids = options.TopK > 0 && options.TopK < logits.Length ? TopKIds(logits, options.TopK) : SortedIds(logits);

        // Softmax over the kept tokens (the ones dropped by top-k get probability 0), in double.
        double inverseTemperature = 1.0 / options.Temperature;
        double max = logits[ids[0]] * inverseTemperature;
        var probabilities = new double[ids.Length];
        double sum = 0;
        for (int i = 0; i < ids.Length; i++)
            sum += probabilities[i] = Math.Exp(logits[ids[i]] * inverseTemperature - max);

        int keep = ids.Length;
        if (options.TopP < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                cumulative += probabilities[i] / sum;
                if (cumulative >= options.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }
        double keptSum = 0;
        for (int i = 0; i < keep; i++) keptSum += probabilities[i];
        var normalized = new double[keep];
        for (int i = 0; i < keep; i++) normalized[i] = probabilities[i] / keptSum;
        return (keep == ids.Length ? ids : ids[..keep], normalized);
    }

    // Every id, largest logit first, ties by lower id: one primitive sort of (order-preserving bits of -logit, id) keys.
    private static int[] SortedIds(ReadOnlySpan<float> logits)
    {
        var keys = new ulong[logits.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            float negated = -logits[i];
            keys[i] = ((ulong)OrderedBits(negated == 0 ? 0f : negated) << 32) | (uint)i; // -0 and +0 tie
        }
        Array.Sort(keys);
        var ids = new int[keys.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = (int)(uint)keys[i];
        return ids;
    }

    // Maps a float to a uint with the same order (negative values flipped, positive ones above them).
    private static uint OrderedBits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    // The k largest by one pass with a small sorted buffer: O(V k) worst case, O(V) typical, no vocabulary-size sort.
    private static int[] TopKIds(ReadOnlySpan<float> logits, int k)
    {
        var ids = new int[k];
        int count = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float value = logits[i];
            if (count == k && !(value > logits[ids[k - 1]]))
                continue;
            int at = count < k ? count++ : k - 1;
            while (at > 0 && value > logits[ids[at - 1]])
            {
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = i;
        }
        return ids;
    }
}
