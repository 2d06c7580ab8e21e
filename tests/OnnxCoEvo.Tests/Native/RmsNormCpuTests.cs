using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Native;

/// <summary>The CPU twin RmsNorm.Forward against hand-computed values and a double-precision reference.</summary>
public sealed class RmsNormCpuTests
{
    [Fact]
    public void Forward_MatchesHandComputedValues()
    {
        // Row 0: x = [3, 4], mean(x^2) = 12.5, rstd = 1/sqrt(12.5) = 0.28284271; w = [2, 0.5]
        //        y = [3 * 0.28284271 * 2, 4 * 0.28284271 * 0.5] = [1.6970563, 0.5656854]
        // Row 1: x = [1, -1], mean(x^2) = 1, rstd = 1, y = [2, -0.5]
        // Then x = [0, 0] with eps = 0.25: rstd = 1/sqrt(0.25) = 2, y = 0 (eps alone keeps rstd finite).
        float[] x = [3f, 4f, 1f, -1f];
        float[] w = [2f, 0.5f];
        var y = new float[4];
        var rstd = new float[2];

        RmsNorm.Forward(x, w, y, rstd, rows: 2, dim: 2, eps: 0f);

        Assert.Equal(0.28284271f, rstd[0], 7);
        Assert.Equal(1f, rstd[1]);
        Assert.Equal(1.6970563f, y[0], 6);
        Assert.Equal(0.5656854f, y[1], 6);
        Assert.Equal(2f, y[2]);
        Assert.Equal(-0.5f, y[3]);

        float[] zeros = [0f, 0f];
        RmsNorm.Forward(zeros, w, y.AsSpan(0, 2), rstd.AsSpan(0, 1), rows: 1, dim: 2, eps: 0.25f);
        Assert.Equal(2f, rstd[0]);
        Assert.Equal(0f, y[0]);
        Assert.Equal(0f, y[1]);
    }

    [Theory]
    [InlineData(64, 576)]
    [InlineData(16, 4096)]
    [InlineData(33, 100)]
    [InlineData(7, 77)]
    [InlineData(5, 1)]
    public void Forward_MatchesDoubleReference(int rows, int dim)
    {
        const float eps = 1e-5f;
        float[] x = Parity.Uniform(seed: rows * 7919 + dim, rows * dim, scale: 3f);
        float[] w = Parity.Uniform(seed: dim, dim, scale: 0.25f, offset: 1f);
        var y = new float[rows * dim];
        var rstd = new float[rows];

        RmsNorm.Forward(x, w, y, rstd, rows, dim, eps);

        (double[] yRef, double[] rstdRef) = Parity.RmsNormNaive(x, w, rows, dim, (double)eps);
        for (int i = 0; i < y.Length; i++)
        {
            Assert.True(Math.Abs(y[i] - yRef[i]) <= 2e-6 * Math.Abs(yRef[i]) + 1e-7, $"y[{i}] = {y[i]:R}, reference {yRef[i]:R}");
        }

        for (int r = 0; r < rows; r++)
        {
            Assert.True(Math.Abs(rstd[r] - rstdRef[r]) <= 2e-6 * rstdRef[r], $"rstd[{r}] = {rstd[r]:R}, reference {rstdRef[r]:R}");
        }
    }

    [Fact]
    public void Forward_RejectsBadArguments()
    {
        var x = new float[8];
        var w = new float[4];
        var y = new float[8];
        var rstd = new float[2];

        Assert.Contains("y [rows, dim] has 7 elements but 8", Assert.Throws<ArgumentException>(
            () => RmsNorm.Forward(x, w, y.AsSpan(0, 7), rstd, 2, 4, 1e-6f)).Message);
        Assert.Contains("weight [dim]", Assert.Throws<ArgumentException>(
            () => RmsNorm.Forward(x, w.AsSpan(0, 3), y, rstd, 2, 4, 1e-6f)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RmsNorm.Forward(x, w, y, rstd, 0, 4, 1e-6f));
        Assert.Throws<ArgumentOutOfRangeException>(() => RmsNorm.Forward(x, w, y, rstd, 2, 4, float.NaN));
        Assert.Throws<ArgumentException>(() => RmsNorm.Forward(x, w, x, rstd, 2, 4, 1e-6f)); // in place
    }
}
