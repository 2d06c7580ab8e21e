using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Training;

/// <summary>RoPE frequencies (default and llama3-scaled) and the rotate-half rotation against hand-computed values.</summary>
public sealed class RopeTests
{
    [Fact]
    public void InverseFrequencies_Default_AreThetaPowers()
    {
        // headDim 8, theta 10000: 10000^(-2i/8) = 1, 0.1, 0.01, 0.001
        float[] frequencies = Rope.InverseFrequencies(8, 10000, scaling: null);
        Assert.Equal([1f, 0.1f, 0.01f, 0.001f], frequencies);
    }

    [Fact]
    public void InverseFrequencies_Llama3_KeepHighStretchLowAndSmoothMedium()
    {
        // original 1024, low 1, high 4, factor 8: low_wl = 1024, high_wl = 256. Wavelengths 2 pi / f:
        //   f = 1     -> 6.28   < 256: kept                          1
        //   f = 0.1   -> 62.8   < 256: kept                          0.1
        //   f = 0.01  -> 628.3  medium: s = (1024 / 628.3185 - 1) / 3 = 0.2099155
        //                (1 - s) * 0.01 / 8 + s * 0.01 = 0.000987606 + 0.002099155 = 0.003086761
        //   f = 0.001 -> 6283   > 1024: divided by 8                 0.000125
        var scaling = new RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 1024);
        float[] frequencies = Rope.InverseFrequencies(8, 10000, scaling);
        Assert.Equal(1f, frequencies[0]);
        Assert.Equal(0.1f, frequencies[1]);
        Assert.Equal(0.003086761, frequencies[2], 1e-8);
        Assert.Equal(0.000125, frequencies[3], 1e-10);
    }

    [Fact]
    public void Forward_RotatesPairsIAndIPlusHalf_AtTheTokensPosition()
    {
        // headDim 4, theta 10000: inv_freq = [1, 0.01]; position 1 rotates pair (0, 2) by 1 rad and (1, 3) by 0.01 rad:
        //   y0 = x0 cos 1 - x2 sin 1,  y2 = x2 cos 1 + x0 sin 1,  y1 = x1 cos .01 - x3 sin .01,  y3 = x3 cos .01 + x1 sin .01
        // Token 0 sits at position 0 and is left as it is.
        var table = new RopeTable(headDim: 4, theta: 10000, scaling: null, positionCount: 2);
        float[] x = [1, 2, 3, 4, 1, 2, 3, 4];
        table.Forward(x, positions: [0, 1], tokens: 2, heads: 1);
        Assert.Equal([1f, 2f, 3f, 4f], x[..4]);
        Assert.Equal(1 * Math.Cos(1) - 3 * Math.Sin(1), x[4], 6);
        Assert.Equal(2 * Math.Cos(0.01) - 4 * Math.Sin(0.01), x[5], 6);
        Assert.Equal(3 * Math.Cos(1) + 1 * Math.Sin(1), x[6], 6);
        Assert.Equal(4 * Math.Cos(0.01) + 2 * Math.Sin(0.01), x[7], 6);
    }

    [Fact]
    public void Forward_RejectsPositionsOutsideTheTable()
    {
        var table = new RopeTable(headDim: 4, theta: 10000, scaling: null, positionCount: 2);
        var e = Assert.Throws<ArgumentException>(() => table.Forward(new float[4], positions: [2], tokens: 1, heads: 1));
        Assert.Contains("position 2", e.Message);
    }
}
