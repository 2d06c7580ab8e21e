using System.Globalization;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The seeded draws WebShop makes at load time (range prices, price thresholds, goal shuffle), on xoshiro256** so that
/// a seed gives the same catalog on every machine. Each named stream is independent of the others.
/// </summary>
public sealed class WebShopRandom(ulong seed, string stream)
{
    /// <summary>Goals with fewer than two thresholds above the price get this ceiling and no price text (WebShop's rule).</summary>
    public const double NoPriceLimit = 1_000_000;

    private Xoshiro256StarStar _generator = new(DeterministicRandom.DeriveSeed(seed, stream));

    /// <summary>Uniform in [0, <paramref name="count"/>).</summary>
    public int Next(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        // Multiply-shift keeps the draw uniform enough (bias below 2^-32) and identical everywhere.
        return (int)((_generator.NextUInt64() >> 32) * (ulong)count >> 32);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => _generator.NextDouble();

    /// <summary>Python's <c>random.uniform(low, high)</c>: low + (high − low)·u.</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fisher-Yates, in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><paramref name="count"/> distinct items, kept in their list order.</summary>
    public List<T> Subset<T>(IReadOnlyList<T> items, int count)
    {
        int[] order = Enumerable.Range(0, items.Count).ToArray();
        Shuffle(order);
        return order.Take(Math.Min(count, items.Count)).Order().Select(i => items[i]).ToList();
    }

    /// <summary>
    /// WebShop's goal price ceiling: candidates are the multiples of 10 from 10 to 990 above <paramref name="price"/>,
    /// the first four are kept, two are sampled and the larger is the ceiling, with the text
    /// ", and price lower than X.XX dollars". Fewer than two candidates: <see cref="NoPriceLimit"/> and no text.
    /// </summary>
    public (double PriceUpper, string PriceText) DrawPriceUpper(double price)
    {
        var candidates = new List<double>(4);
        for (int step = 1; step < 100 && candidates.Count < 4; step++)
            if (10.0 * step > price)
                candidates.Add(10.0 * step);
        if (candidates.Count < 2)
            return (NoPriceLimit, "");
        int first = Next(candidates.Count);
        int second = Next(candidates.Count - 1);
        if (second >= first)
            second++;
        double upper = candidates[Math.Max(first, second)];
        return (upper, $", and price lower than {upper.ToString("F2", CultureInfo.InvariantCulture)} dollars");
    }
}
