using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>
/// The samples of every optimizer step, as a pure function of (seed, sample count, samples per step, step): each epoch is
/// a Fisher-Yates permutation from xoshiro256** seeded by (seed, "epoch", epoch). Because nothing else feeds the order, a
/// resumed run needs only the step number to take exactly the samples the uninterrupted run would have.
/// </summary>
public sealed class DataOrder
{
    private readonly ulong _seed;
    private int _cachedEpoch = -1;
    private int[] _cachedPermutation = [];

    public DataOrder(int sampleCount, int samplesPerStep, int epochs, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplesPerStep, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        SampleCount = sampleCount;
        SamplesPerStep = samplesPerStep;
        Epochs = epochs;
        _seed = seed;
        StepsPerEpoch = (sampleCount + samplesPerStep - 1) / samplesPerStep;
    }

    public int SampleCount { get; }
    public int SamplesPerStep { get; }
    public int Epochs { get; }
    public int StepsPerEpoch { get; }
    public long TotalSteps => (long)StepsPerEpoch * Epochs;

    public int EpochOf(long step) => (int)(step / StepsPerEpoch);

    /// <summary>Sample indices of optimizer step <paramref name="step"/> (0-based).</summary>
    public int[] SamplesOf(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, TotalSteps);
        int epoch = EpochOf(step);
        if (epoch != _cachedEpoch)
        {
            _cachedPermutation = Permutation(SampleCount, EpochGenerator(_seed, epoch));
            _cachedEpoch = epoch;
        }
        int start = (int)(step % StepsPerEpoch) * SamplesPerStep;
        int end = Math.Min(SampleCount, start + SamplesPerStep);
        return _cachedPermutation[start..end];
    }

    /// <summary>The generator that shuffles epoch <paramref name="epoch"/>, fresh (its state is what checkpoints record).</summary>
    public static Xoshiro256StarStar EpochGenerator(ulong seed, int epoch) =>
        new(DeterministicRandom.DeriveSeed(seed, "epoch", (ulong)epoch));

    private static int[] Permutation(int n, Xoshiro256StarStar rng)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
