using System.Numerics;

namespace OnnxCoEvo.Tests.Native;

/// <summary>Random inputs and error measures shared by the kernel-vs-twin tests.</summary>
internal static class Parity
{
    /// <summary>Values uniform in [offset - scale, offset + scale), deterministic for a seed.</summary>
    public static float[] Uniform(int seed, int count, float scale = 1f, float offset = 0f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = offset + scale * (2f * rng.NextSingle() - 1f);
        }

        return values;
    }

    /// <summary>max_i |actual_i - expected_i|.</summary>
    public static double MaxAbsError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]));
        }

        return worst;
    }

    /// <summary>max_i |values_i|.</summary>
    public static double MaxAbs(ReadOnlySpan<double> values)
    {
        double worst = 0;
        foreach (double v in values)
        {
            worst = Math.Max(worst, Math.Abs(v));
        }

        return worst;
    }

    /// <summary>Asserts |actual - expected| &lt;= rtol * |expected| + atol elementwise, naming the first bad index.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            if (!(diff <= rtol * Math.Abs(expected[i]) + atol))
            {
                Assert.Fail($"{what}[{i}]: {actual[i]:R} vs {expected[i]:R} (|diff| {diff:G3} > {rtol:G2}*|expected| + {atol:G2})");
            }
        }
    }

    /// <summary>
    /// RMSNorm by its plain definition (sequential sum, no reuse of the code under test), computed in T: double gives
    /// the reference, float the naive fp32 computation whose error the parity rule scales.
    /// </summary>
    public static (T[] Y, T[] Rstd) RmsNormNaive<T>(float[] x, float[] w, int rows, int dim, T eps)
        where T : IFloatingPointIeee754<T>
    {
        var y = new T[rows * dim];
        var rstd = new T[rows];
        T n = T.CreateChecked(dim);
        for (int r = 0; r < rows; r++)
        {
            T ss = T.Zero;
            for (int c = 0; c < dim; c++)
            {
                T v = T.CreateChecked(x[r * dim + c]);
                ss += v * v;
            }

            rstd[r] = T.One / T.Sqrt(ss / n + eps);
            for (int c = 0; c < dim; c++)
            {
                y[r * dim + c] = T.CreateChecked(x[r * dim + c]) * rstd[r] * T.CreateChecked(w[c]);
            }
        }

        return (y, rstd);
    }
}
