using OnnxCoEvo.Tests.Native;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Training;

/// <summary>CausalAttention forward against a double-precision masked reference, packing boundaries, GQA and determinism.</summary>
public sealed class AttentionTests
{
    private const int HeadDim = 4;

    [Theory]
    [InlineData(4, 2, null)]
    [InlineData(4, 1, 3)]
    [InlineData(2, 2, 1)]
    public void Forward_MatchesMaskedDoubleReference(int heads, int kvHeads, int? window)
    {
        int[] starts = [0, 5, 6, 11];
        int tokens = starts[^1];
        float[] q = Parity.Uniform(1, tokens * heads * HeadDim, scale: 2f);
        float[] k = Parity.Uniform(2, tokens * kvHeads * HeadDim, scale: 2f);
        float[] v = Parity.Uniform(3, tokens * kvHeads * HeadDim);
        (float[] output, float[] lse) = Run(q, k, v, starts, heads, kvHeads, window);

        int group = heads / kvHeads;
        for (int sequence = 0; sequence + 1 < starts.Length; sequence++)
        {
            for (int t = starts[sequence]; t < starts[sequence + 1]; t++)
            {
                for (int h = 0; h < heads; h++)
                {
                    // Token s is visible from t iff it is in t's sequence, s <= t and t - s < window.
                    var visible = Enumerable.Range(starts[sequence], t - starts[sequence] + 1).Where(s => window is null || t - s < window).ToArray();
                    double[] scores = visible.Select(s => Enumerable.Range(0, HeadDim)
                        .Sum(i => (double)q[(t * heads + h) * HeadDim + i] * k[(s * kvHeads + h / group) * HeadDim + i]) / Math.Sqrt(HeadDim)).ToArray();
                    double max = scores.Max();
                    double sum = scores.Sum(score => Math.Exp(score - max));
                    Assert.Equal(max + Math.Log(sum), lse[t * heads + h], 5);
                    for (int i = 0; i < HeadDim; i++)
                    {
                        double expected = visible.Select((s, j) => Math.Exp(scores[j] - max) / sum * v[(s * kvHeads + h / group) * HeadDim + i]).Sum();
                        Assert.Equal(expected, output[(t * heads + h) * HeadDim + i], 5);
                    }
                }
            }
        }
    }

    [Fact]
    public void PackedSequences_EqualEachSequenceRunAlone_ForwardAndBackward()
    {
        const int heads = 4, kvHeads = 2;
        int[] lengths = [3, 6, 1, 4];
        int[] starts = [0, 3, 9, 10, 14];
        int tokens = starts[^1];
        float[] q = Parity.Uniform(4, tokens * heads * HeadDim, scale: 2f);
        float[] k = Parity.Uniform(5, tokens * kvHeads * HeadDim, scale: 2f);
        float[] v = Parity.Uniform(6, tokens * kvHeads * HeadDim);
        float[] dOutput = Parity.Uniform(7, q.Length);
        (float[] output, float[] lse) = Run(q, k, v, starts, heads, kvHeads, null);
        (float[] dq, float[] dk, float[] dv) = RunBackward(q, k, v, starts, lse, dOutput, heads, kvHeads, null);

        int qRow = heads * HeadDim, kvRow = kvHeads * HeadDim;
        for (int sequence = 0; sequence < lengths.Length; sequence++)
        {
            int start = starts[sequence], n = lengths[sequence];
            float[] qAlone = q[(start * qRow)..((start + n) * qRow)];
            float[] kAlone = k[(start * kvRow)..((start + n) * kvRow)];
            float[] vAlone = v[(start * kvRow)..((start + n) * kvRow)];
            (float[] outputAlone, float[] lseAlone) = Run(qAlone, kAlone, vAlone, [0, n], heads, kvHeads, null);
            (float[] dqAlone, float[] dkAlone, float[] dvAlone) = RunBackward(qAlone, kAlone, vAlone, [0, n], lseAlone,
                dOutput[(start * qRow)..((start + n) * qRow)], heads, kvHeads, null);
            // Same rows, same arithmetic: the packed run must agree bit for bit.
            Assert.Equal(outputAlone, output[(start * qRow)..((start + n) * qRow)]);
            Assert.Equal(dqAlone, dq[(start * qRow)..((start + n) * qRow)]);
            Assert.Equal(dkAlone, dk[(start * kvRow)..((start + n) * kvRow)]);
            Assert.Equal(dvAlone, dv[(start * kvRow)..((start + n) * kvRow)]);
        }
    }

    [Fact]
    public void GroupedQuery_EqualsMultiHeadWithRepeatedKeyValues()
    {
        const int heads = 6, kvHeads = 2, group = heads / kvHeads;
        int[] starts = [0, 7, 12];
        int tokens = starts[^1];
        float[] q = Parity.Uniform(8, tokens * heads * HeadDim, scale: 2f);
        float[] k = Parity.Uniform(9, tokens * kvHeads * HeadDim, scale: 2f);
        float[] v = Parity.Uniform(10, tokens * kvHeads * HeadDim);
        float[] dOutput = Parity.Uniform(11, q.Length);

        // HF repeat_kv: query head h reads kv head h / group.
        float[] Repeat(float[] kv)
        {
            var repeated = new float[tokens * heads * HeadDim];
            for (int t = 0; t < tokens; t++)
                for (int h = 0; h < heads; h++)
                    kv.AsSpan((t * kvHeads + h / group) * HeadDim, HeadDim).CopyTo(repeated.AsSpan((t * heads + h) * HeadDim, HeadDim));
            return repeated;
        }
        float[] kFull = Repeat(k), vFull = Repeat(v);

        (float[] output, float[] lse) = Run(q, k, v, starts, heads, kvHeads, null);
        (float[] outputFull, float[] lseFull) = Run(q, kFull, vFull, starts, heads, heads, null);
        Assert.Equal(outputFull, output);
        Assert.Equal(lseFull, lse);

        (float[] dq, float[] dk, float[] dv) = RunBackward(q, k, v, starts, lse, dOutput, heads, kvHeads, null);
        (float[] dqFull, float[] dkFull, float[] dvFull) = RunBackward(q, kFull, vFull, starts, lseFull, dOutput, heads, heads, null);
        Assert.Equal(dqFull, dq);
        // A shared kv head's gradient is the sum over the query heads that read it (added in head order both ways).
        for (int t = 0; t < tokens; t++)
        {
            for (int kvHead = 0; kvHead < kvHeads; kvHead++)
            {
                for (int i = 0; i < HeadDim; i++)
                {
                    float dkSum = 0, dvSum = 0;
                    for (int h = kvHead * group; h < (kvHead + 1) * group; h++)
                    {
                        dkSum += dkFull[(t * heads + h) * HeadDim + i];
                        dvSum += dvFull[(t * heads + h) * HeadDim + i];
                    }
                    Assert.Equal(dkSum, dk[(t * kvHeads + kvHead) * HeadDim + i], 5);
                    Assert.Equal(dvSum, dv[(t * kvHeads + kvHead) * HeadDim + i], 5);
                }
            }
        }
    }

    [Fact]
    public void LongSequences_AreBitIdenticalRunToRun()
    {
        // Enough work that the items run on several threads; each item owns its outputs, so scheduling cannot matter.
        const int heads = 4, kvHeads = 2;
        int[] starts = [0, 90, 120, 200];
        int tokens = starts[^1];
        float[] q = Parity.Uniform(12, tokens * heads * HeadDim, scale: 2f);
        float[] k = Parity.Uniform(13, tokens * kvHeads * HeadDim, scale: 2f);
        float[] v = Parity.Uniform(14, tokens * kvHeads * HeadDim);
        float[] dOutput = Parity.Uniform(15, q.Length);
        (float[] output, float[] lse) = Run(q, k, v, starts, heads, kvHeads, 48);
        (float[] dq, float[] dk, float[] dv) = RunBackward(q, k, v, starts, lse, dOutput, heads, kvHeads, 48);
        for (int run = 0; run < 3; run++)
        {
            Assert.Equal(output, Run(q, k, v, starts, heads, kvHeads, 48).Output);
            (float[] dq2, float[] dk2, float[] dv2) = RunBackward(q, k, v, starts, lse, dOutput, heads, kvHeads, 48);
            Assert.Equal(dq, dq2);
            Assert.Equal(dk, dk2);
            Assert.Equal(dv, dv2);
        }
    }

    [Fact]
    public void RejectsBadShapes()
    {
        var buffer = new float[64];
        Assert.Throws<ArgumentException>(() => CausalAttention.Forward(buffer, buffer, buffer, [0, 2], new float[64], new float[64], 3, 2, HeadDim));
        Assert.Throws<ArgumentException>(() => CausalAttention.Forward(buffer, buffer, buffer, [0, 2, 2], new float[64], new float[64], 2, 2, HeadDim));
        Assert.Throws<ArgumentOutOfRangeException>(() => CausalAttention.Forward(buffer, buffer, buffer, [0, 2], new float[64], new float[64], 2, 2, HeadDim, slidingWindow: 0));
    }

    private static (float[] Output, float[] Lse) Run(float[] q, float[] k, float[] v, int[] starts, int heads, int kvHeads, int? window)
    {
        var output = new float[q.Length];
        var lse = new float[starts[^1] * heads];
        CausalAttention.Forward(q, k, v, starts, output, lse, heads, kvHeads, HeadDim, window);
        return (output, lse);
    }

    private static (float[] Dq, float[] Dk, float[] Dv) RunBackward(float[] q, float[] k, float[] v, int[] starts, float[] lse, float[] dOutput,
        int heads, int kvHeads, int? window)
    {
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        CausalAttention.Backward(q, k, v, starts, lse, dOutput, dq, dk, dv, heads, kvHeads, HeadDim, window);
        return (dq, dk, dv);
    }
}
