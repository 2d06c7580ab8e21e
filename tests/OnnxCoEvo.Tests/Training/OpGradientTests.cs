using OnnxCoEvo.Tests.Native;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Training;

/// <summary>
/// Every CPU op's backward against central finite differences of its forward (see <see cref="FiniteDifference"/>):
/// small shapes, loss = sum(out * r) with random r, steps of 1e-2 relative, tolerance 1e-3 absolute + 1e-2 relative
/// (the fp32 forward's rounding noise over a 2e-2 step is about 1e-4).
/// </summary>
public sealed class OpGradientTests
{
    [Fact]
    public void Embedding_GathersRows_AndScatterAddsRepeatedIds()
    {
        const int vocab = 5, dim = 3;
        int[] ids = [3, 1, 3, 0];
        float[] table = Parity.Uniform(1, vocab * dim);
        float[] r = Parity.Uniform(2, ids.Length * dim);
        var output = new float[ids.Length * dim];
        Embedding.Forward(ids, table, output, vocab, dim);
        for (int t = 0; t < ids.Length; t++)
            Assert.Equal(table.AsSpan(ids[t] * dim, dim).ToArray(), output.AsSpan(t * dim, dim).ToArray());

        var dTable = new float[vocab * dim];
        Embedding.Backward(ids, r, dTable, vocab, dim);
        FiniteDifference.Check("embedding dTable", table, dTable, FiniteDifference.All(table), () =>
        {
            Embedding.Forward(ids, table, output, vocab, dim);
            return FiniteDifference.WeightedSum(output, r);
        });
        Assert.Throws<ArgumentException>(() => Embedding.Forward([5], table, output, vocab, dim));
    }

    [Fact]
    public void RmsNorm_Backward_MatchesFiniteDifferences_AndAccumulates()
    {
        const int rows = 3, dim = 6;
        const float eps = 1e-5f;
        float[] x = Parity.Uniform(3, rows * dim, scale: 2f);
        float[] w = Parity.Uniform(4, dim, scale: 0.5f, offset: 1f);
        float[] r = Parity.Uniform(5, rows * dim);
        var y = new float[rows * dim];
        var rstd = new float[rows];
        RmsNorm.Forward(x, w, y, rstd, rows, dim, eps);
        var dx = new float[rows * dim];
        var dw = new float[dim];
        RmsNorm.Backward(x, w, rstd, r, dx, dw, rows, dim);

        double Loss()
        {
            RmsNorm.Forward(x, w, y, rstd, rows, dim, eps);
            return FiniteDifference.WeightedSum(y, r);
        }
        FiniteDifference.Check("rmsnorm dx", x, dx, FiniteDifference.All(x), Loss);
        FiniteDifference.Check("rmsnorm dw", w, dw, FiniteDifference.All(w), Loss);

        // accumulateDx adds into dx; dWeight always adds; an empty dWeight (frozen) is skipped.
        var dxTwice = (float[])dx.Clone();
        var dwTwice = (float[])dw.Clone();
        RmsNorm.Forward(x, w, y, rstd, rows, dim, eps);
        RmsNorm.Backward(x, w, rstd, r, dxTwice, dwTwice, rows, dim, accumulateDx: true);
        RmsNorm.Backward(x, w, rstd, r, dx, [], rows, dim, accumulateDx: true);
        Assert.Equal(dxTwice, dx);
        for (int c = 0; c < dim; c++)
            Assert.Equal(2.0 * dw[c], dwTwice[c], 1e-5 * Math.Abs(dw[c]));
    }

    [Fact]
    public void Rope_Backward_MatchesFiniteDifferences_AndInvertsForward()
    {
        const int tokens = 3, heads = 2, headDim = 8;
        int[] positions = [0, 5, 2];
        var table = new RopeTable(headDim, theta: 100, scaling: null, positionCount: 8);
        float[] x = Parity.Uniform(6, tokens * heads * headDim);
        float[] r = Parity.Uniform(7, x.Length);
        var dx = (float[])r.Clone();
        table.Backward(dx, positions, tokens, heads);
        FiniteDifference.Check("rope dx", x, dx, FiniteDifference.All(x), () =>
        {
            var y = (float[])x.Clone();
            table.Forward(y, positions, tokens, heads);
            return FiniteDifference.WeightedSum(y, r);
        });

        var roundTrip = (float[])x.Clone();
        table.Forward(roundTrip, positions, tokens, heads);
        table.Backward(roundTrip, positions, tokens, heads);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(x[i], roundTrip[i], 1e-6);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(2)]
    public void CausalAttention_Backward_MatchesFiniteDifferences(int? window)
    {
        const int heads = 4, kvHeads = 2, headDim = 4;
        int[] starts = [0, 4, 7];
        int tokens = starts[^1];
        float[] q = Parity.Uniform(8, tokens * heads * headDim, scale: 1.5f);
        float[] k = Parity.Uniform(9, tokens * kvHeads * headDim, scale: 1.5f);
        float[] v = Parity.Uniform(10, tokens * kvHeads * headDim);
        float[] r = Parity.Uniform(11, q.Length);
        var output = new float[q.Length];
        var lse = new float[tokens * heads];
        CausalAttention.Forward(q, k, v, starts, output, lse, heads, kvHeads, headDim, window);
        var dq = new float[q.Length];
        var dk = new float[k.Length];
        var dv = new float[v.Length];
        CausalAttention.Backward(q, k, v, starts, lse, r, dq, dk, dv, heads, kvHeads, headDim, window);

        double Loss()
        {
            CausalAttention.Forward(q, k, v, starts, output, lse, heads, kvHeads, headDim, window);
            return FiniteDifference.WeightedSum(output, r);
        }
        FiniteDifference.Check("attention dq", q, dq, FiniteDifference.All(q), Loss);
        FiniteDifference.Check("attention dk", k, dk, FiniteDifference.All(k), Loss);
        FiniteDifference.Check("attention dv", v, dv, FiniteDifference.All(v), Loss);
    }

    [Fact]
    public void SwiGlu_Backward_MatchesFiniteDifferences()
    {
        const int rows = 2, width = 5;
        float[] gate = Parity.Uniform(12, rows * width, scale: 3f);
        float[] up = Parity.Uniform(13, rows * width, scale: 2f);
        float[] r = Parity.Uniform(14, rows * width);
        var h = new float[rows * width];
        SwiGlu.Forward(gate, up, h, rows, width);
        for (int i = 0; i < h.Length; i++)
            Assert.Equal(gate[i] / (1 + Math.Exp(-gate[i])) * up[i], h[i], 5);
        var dGate = new float[h.Length];
        var dUp = new float[h.Length];
        SwiGlu.Backward(gate, up, r, dGate, dUp, rows, width);

        double Loss()
        {
            SwiGlu.Forward(gate, up, h, rows, width);
            return FiniteDifference.WeightedSum(h, r);
        }
        FiniteDifference.Check("swiglu dgate", gate, dGate, FiniteDifference.All(gate), Loss);
        FiniteDifference.Check("swiglu dup", up, dUp, FiniteDifference.All(up), Loss);
    }

    [Fact]
    public void Linear_WithBiasAndLora_Backward_MatchesFiniteDifferences()
    {
        const int rows = 3, inFeatures = 5, outFeatures = 4, rank = 2;
        const float scaling = 1.5f;
        float[] x = Parity.Uniform(15, rows * inFeatures);
        float[] w = Parity.Uniform(16, outFeatures * inFeatures);
        float[] b = Parity.Uniform(17, outFeatures);
        float[] a = Parity.Uniform(18, rank * inFeatures);
        float[] loraB = Parity.Uniform(19, outFeatures * rank);
        float[] r = Parity.Uniform(20, rows * outFeatures);
        var y = new float[rows * outFeatures];
        var xa = new float[rows * rank];
        void Forward()
        {
            Linear.Forward(x, w, b, y, rows, inFeatures, outFeatures);
            Linear.LoraForward(x, a, loraB, scaling, xa, y, rows, inFeatures, outFeatures, rank);
        }
        Forward();
        for (int row = 0; row < rows; row++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double expected = b[o];
                for (int i = 0; i < inFeatures; i++)
                {
                    double adapter = 0;
                    for (int j = 0; j < rank; j++)
                        adapter += loraB[o * rank + j] * a[j * inFeatures + i];
                    expected += x[row * inFeatures + i] * (w[o * inFeatures + i] + scaling * adapter);
                }
                Assert.Equal(expected, y[row * outFeatures + o], 5);
            }
        }

        var dx = new float[x.Length];
        var dw = new float[w.Length];
        var db = new float[b.Length];
        var da = new float[a.Length];
        var dLoraB = new float[loraB.Length];
        Linear.Backward(x, w, r, dx, dw, db, rows, inFeatures, outFeatures);
        Linear.LoraBackward(x, a, loraB, scaling, xa, r, dx, da, dLoraB, rows, inFeatures, outFeatures, rank);
        double Loss()
        {
            Forward();
            return FiniteDifference.WeightedSum(y, r);
        }
        FiniteDifference.Check("linear dx", x, dx, FiniteDifference.All(x), Loss);
        FiniteDifference.Check("linear dW", w, dw, FiniteDifference.All(w), Loss);
        FiniteDifference.Check("linear db", b, db, FiniteDifference.All(b), Loss);
        FiniteDifference.Check("lora dA", a, da, FiniteDifference.All(a), Loss);
        FiniteDifference.Check("lora dB", loraB, dLoraB, FiniteDifference.All(loraB), Loss);

        // Frozen parameters pass empty gradients: only dx is produced (and the adapter's part still reaches it).
        var dxOnly = new float[x.Length];
        Linear.Backward(x, w, r, dxOnly, [], [], rows, inFeatures, outFeatures);
        Linear.LoraBackward(x, a, loraB, scaling, xa, r, dxOnly, [], [], rows, inFeatures, outFeatures, rank);
        Assert.Equal(dx, dxOnly);
    }

    [Fact]
    public void TokenLogProbs_Backward_MatchesFiniteDifferences_InChunks()
    {
        const int tokens = 5, dim = 6, vocab = 11, chunkRows = 2;
        float[] h = Parity.Uniform(21, tokens * dim, scale: 2f);
        float[] w = Parity.Uniform(22, vocab * dim);
        int[] targets = [3, -1, 10, 0, 7];
        bool[] mask = [true, false, true, true, false];
        float[] r = Parity.Uniform(23, tokens);
        var logProbs = new float[tokens];
        var lse = new float[tokens];
        TokenLogProbs.Forward(h, w, targets, mask, logProbs, lse, tokens, dim, vocab, chunkRows);
        var dh = Enumerable.Repeat(9f, tokens * dim).ToArray(); // unscored rows must be overwritten with 0
        var dw = new float[w.Length];
        TokenLogProbs.Backward(h, w, targets, mask, lse, r, dh, dw, tokens, dim, vocab, chunkRows);
        Assert.All(dh.AsSpan(1 * dim, dim).ToArray(), value => Assert.Equal(0f, value));

        double Loss()
        {
            TokenLogProbs.Forward(h, w, targets, mask, logProbs, lse, tokens, dim, vocab, chunkRows);
            return FiniteDifference.WeightedSum(logProbs, r);
        }
        FiniteDifference.Check("token logprobs dh", h, dh, FiniteDifference.All(h), Loss);
        FiniteDifference.Check("token logprobs dW", w, dw, FiniteDifference.All(w), Loss);
    }
}
