using OnnxCoEvo.Tests.Native;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Training;

/// <summary>The fused head + log-softmax + gather against a double reference, and its independence from chunking.</summary>
public sealed class TokenLogProbsTests
{
    private const int Tokens = 9, Dim = 8, Vocab = 37;
    private static readonly int[] Targets = [4, 36, -1, 0, 12, 12, 5, -1, 30];
    private static readonly bool[] Mask = [true, true, false, true, false, true, true, false, true];

    [Fact]
    public void Forward_MatchesDoubleLogSoftmax_AndLeavesUnscoredRowsZero()
    {
        float[] h = Parity.Uniform(1, Tokens * Dim, scale: 3f);
        float[] w = Parity.Uniform(2, Vocab * Dim);
        var logProbs = Enumerable.Repeat(5f, Tokens).ToArray();
        var lse = new float[Tokens];
        TokenLogProbs.Forward(h, w, Targets, Mask, logProbs, lse, Tokens, Dim, Vocab);
        for (int t = 0; t < Tokens; t++)
        {
            if (!Mask[t])
            {
                Assert.Equal(0f, logProbs[t]);
                continue;
            }
            double[] logits = Enumerable.Range(0, Vocab)
                .Select(v => Enumerable.Range(0, Dim).Sum(i => (double)h[t * Dim + i] * w[v * Dim + i])).ToArray();
            double max = logits.Max();
            double logSumExp = max + Math.Log(logits.Sum(z => Math.Exp(z - max)));
            Assert.Equal(logits[Targets[t]] - logSumExp, logProbs[t], 5);
            Assert.Equal(logSumExp, lse[t], 5);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(100)]
    public void Chunking_DoesNotChangeResults(int chunkRows)
    {
        float[] h = Parity.Uniform(3, Tokens * Dim, scale: 3f);
        float[] w = Parity.Uniform(4, Vocab * Dim);
        float[] dLogProbs = Parity.Uniform(5, Tokens);
        (float[] logProbs, float[] dh, float[] dw) = Run(h, w, dLogProbs, chunkRows: 3);
        (float[] logProbsChunked, float[] dhChunked, float[] dwChunked) = Run(h, w, dLogProbs, chunkRows);
        AssertClose(logProbs, logProbsChunked);
        AssertClose(dh, dhChunked);
        AssertClose(dw, dwChunked);
    }

    [Fact]
    public void RejectsScoredTokenWithoutTarget()
    {
        var e = Assert.Throws<ArgumentException>(() => TokenLogProbs.Forward(new float[Dim], new float[Vocab * Dim], [-1], [true],
            new float[1], new float[1], 1, Dim, Vocab));
        Assert.Contains("target id -1", e.Message);
    }

    private static (float[] LogProbs, float[] Dh, float[] Dw) Run(float[] h, float[] w, float[] dLogProbs, int chunkRows)
    {
        var logProbs = new float[Tokens];
        var lse = new float[Tokens];
        TokenLogProbs.Forward(h, w, Targets, Mask, logProbs, lse, Tokens, Dim, Vocab, chunkRows);
        var dh = new float[h.Length];
        var dw = new float[w.Length];
        TokenLogProbs.Backward(h, w, Targets, Mask, lse, dLogProbs, dh, dw, Tokens, Dim, Vocab, chunkRows);
        return (logProbs, dh, dw);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f * (1 + Math.Abs(expected[i])), $"[{i}] {expected[i]:R} vs {actual[i]:R}");
    }
}
