namespace OnnxCoEvo.Tests;

/// <summary>
/// Checks analytic gradients of fp32 code against central finite differences. The loss is evaluated in double from
/// fp32 outputs (typically sum(out * random weights), see <see cref="WeightedSum"/>); the step is
/// relativeStep * max(|x|, 1), and the difference quotient divides by the step actually taken after rounding x +- h to
/// fp32. Rounding noise in an fp32 forward is about 1e-7 |loss| per evaluation, so with steps of 1e-2 the numeric
/// derivative is good to about 1e-4 absolute: tolerances are absolute plus relative, never relative alone.
/// </summary>
internal static class FiniteDifference
{
    /// <summary>sum_i output[i] * weights[i], accumulated in double.</summary>
    public static double WeightedSum(ReadOnlySpan<float> output, ReadOnlySpan<float> weights)
    {
        Assert.Equal(weights.Length, output.Length);
        double sum = 0;
        for (int i = 0; i < output.Length; i++)
            sum += (double)output[i] * weights[i];
        return sum;
    }

    /// <summary>d loss / d values[index] by central difference; values[index] is restored afterwards.</summary>
    public static double Derivative(float[] values, int index, Func<double> loss, double relativeStep)
    {
        float original = values[index];
        double step = relativeStep * Math.Max(Math.Abs(original), 1.0);
        float plus = (float)(original + step), minus = (float)(original - step);
        try
        {
            values[index] = plus;
            double lossPlus = loss();
            values[index] = minus;
            double lossMinus = loss();
            return (lossPlus - lossMinus) / ((double)plus - minus);
        }
        finally
        {
            values[index] = original;
        }
    }

    /// <summary>
    /// Asserts |analytic - numeric| &lt;= absoluteTolerance + relativeTolerance * max(|analytic|, |numeric|) at each index,
    /// listing every failing entry. <paramref name="analytic"/> is read before any perturbation.
    /// </summary>
    public static void Check(string what, float[] values, ReadOnlySpan<float> analytic, IEnumerable<int> indices, Func<double> loss,
        double relativeStep = 1e-2, double absoluteTolerance = 1e-3, double relativeTolerance = 1e-2)
    {
        Assert.Equal(values.Length, analytic.Length);
        float[] expected = analytic.ToArray();
        var failures = new List<string>();
        int checkedCount = 0;
        foreach (int i in indices)
        {
            double numeric = Derivative(values, i, loss, relativeStep);
            double error = Math.Abs(expected[i] - numeric);
            if (!(error <= absoluteTolerance + relativeTolerance * Math.Max(Math.Abs(expected[i]), Math.Abs(numeric))))
                failures.Add($"[{i}] analytic {expected[i]:G6} numeric {numeric:G6}");
            checkedCount++;
        }
        Assert.True(checkedCount > 0, $"{what}: no entries checked");
        Assert.True(failures.Count == 0, $"{what}: {failures.Count} of {checkedCount} entries off: {string.Join("; ", failures)}");
    }

    /// <summary>Every index of an array.</summary>
    public static IEnumerable<int> All(float[] values) => Enumerable.Range(0, values.Length);

    /// <summary>Up to <paramref name="count"/> distinct indices in [0, length), chosen by a seeded generator.</summary>
    public static IEnumerable<int> Sample(int length, int count, int seed)
    {
        int[] indices = Enumerable.Range(0, length).ToArray();
        new Random(seed).Shuffle(indices);
        return indices.Take(count);
    }
}
