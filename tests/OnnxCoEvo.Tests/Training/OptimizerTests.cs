using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Optim;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Tests.Training;

public class OptimizerTests
{
    // 11 elements: one or more full vectors plus a scalar tail on any vector width up to 8 lanes.
    private static readonly double[] StartValues = [1.0, -2.0, 0.5, 0.0, 3.25, -0.75, 0.125, 2.0, -1.5, 0.3, -0.01];
    private static readonly double[] Grad1 = [0.1, -0.2, 0.3, 0.0, -1.0, 0.05, 2.0, -0.4, 0.001, -3.0, 0.7];
    private static readonly double[] Grad2 = [-0.05, 0.4, 0.0, 0.2, -0.5, 0.05, -2.0, 0.1, 0.002, 1.0, -0.7];

    private static ParameterSet TwoParameters(out Parameter trained, out Parameter frozen)
    {
        trained = new Parameter("w", [1, StartValues.Length], StartValues.Select(v => (float)v).ToArray(), trainable: true);
        frozen = new Parameter("frozen", [2], [5f, 6f], trainable: false);
        var set = new ParameterSet();
        set.Add(frozen);
        set.Add(trained);
        return set;
    }

    [Fact]
    public void AdamW_TwoSteps_MatchTheUpdateComputedInDouble()
    {
        const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        ParameterSet set = TwoParameters(out Parameter w, out Parameter frozen);
        var optimizer = new AdamW(set, new AdamWOptions { WeightDecay = wd });

        double[] p = (double[])StartValues.Clone(), m = new double[p.Length], v = new double[p.Length];
        foreach ((double[] grad, int t) in new[] { (Grad1, 1), (Grad2, 2) })
        {
            for (int i = 0; i < p.Length; i++)
            {
                p[i] -= lr * wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * grad[i];
                v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            for (int i = 0; i < p.Length; i++)
                w.Grad[i] = (float)grad[i];
            optimizer.Step((float)lr);
            if (t == 1) // by hand: decay gives 0.999, then mhat = g and sqrt(vhat) = |g|, a step of lr * 0.1 / (0.1 + eps)
                Assert.Equal(0.999 - 0.01 * 0.1 / (0.1 + 1e-8), w.Value[0], 1e-7);
        }

        Assert.Equal(2, optimizer.StepCount);
        for (int i = 0; i < p.Length; i++)
            Assert.Equal(p[i], w.Value[i], 1e-6);
        Assert.Equal([5f, 6f], frozen.Value);
    }

    [Fact]
    public void AdamW_ExportImport_ContinuesBitIdentically()
    {
        ParameterSet first = TwoParameters(out Parameter w1, out _);
        var optimizer1 = new AdamW(first, new AdamWOptions { WeightDecay = 0.01 });
        SetGrad(w1, Grad1);
        optimizer1.Step(1e-3f);
        AdamWState state = optimizer1.ExportState();
        Assert.Equal(["w.exp_avg", "w.exp_avg_sq"], state.Tensors.Select(t => t.Name));

        ParameterSet second = TwoParameters(out Parameter w2, out _);
        w1.Value.CopyTo(w2.Value, 0);
        var optimizer2 = new AdamW(second, new AdamWOptions { WeightDecay = 0.01 });
        optimizer2.ImportState(state);
        Assert.Equal(1, optimizer2.StepCount);

        SetGrad(w1, Grad2);
        SetGrad(w2, Grad2);
        optimizer1.Step(1e-3f);
        optimizer2.Step(1e-3f);
        Assert.Equal(w1.Value.Select(BitConverter.SingleToUInt32Bits), w2.Value.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void AdamW_ImportState_RejectsWrongShapeAndMissingTensorsWithoutChangingState()
    {
        ParameterSet set = TwoParameters(out _, out _);
        var optimizer = new AdamW(set);
        var wrongShape = new AdamWState(3, [new NamedTensor("w.exp_avg", [11], new float[11]), new NamedTensor("w.exp_avg_sq", [1, 11], new float[11])]);
        var e = Assert.Throws<ArgumentException>(() => optimizer.ImportState(wrongShape));
        Assert.Contains("'w.exp_avg' has shape [11] but the parameter is [1, 11]", e.Message);
        var missing = new AdamWState(3, [new NamedTensor("w.exp_avg", [1, 11], new float[11])]);
        Assert.Contains("'w.exp_avg_sq' is missing", Assert.Throws<ArgumentException>(() => optimizer.ImportState(missing)).Message);
        var extra = new AdamWState(3, [.. optimizer.ExportState().Tensors, new NamedTensor("frozen.exp_avg", [2], new float[2])]);
        Assert.Contains("'frozen.exp_avg' belongs to no trainable parameter", Assert.Throws<ArgumentException>(() => optimizer.ImportState(extra)).Message);
        Assert.Equal(0, optimizer.StepCount);
    }

    private static void SetGrad(Parameter p, double[] grad)
    {
        for (int i = 0; i < grad.Length; i++)
            p.Grad[i] = (float)grad[i];
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(5, 0.5)]
    [InlineData(10, 1.0)]
    [InlineData(35, 0.8535533905932737)] // progress 0.25: 0.5 (1 + cos(pi / 4))
    [InlineData(60, 0.5)]
    [InlineData(110, 0.0)]
    public void Cosine_MatchesHuggingFaceAtKnownPoints(long step, double expected)
    {
        var schedule = new LearningRateSchedule(LearningRateScheduleKind.Cosine, 2e-5, totalSteps: 110, warmupSteps: 10);
        Assert.Equal(expected, schedule.Multiplier(step), 1e-15);
        Assert.Equal(2e-5 * expected, schedule.At(step), 1e-20);
    }

    [Fact]
    public void ConstantWithWarmup_RampsLinearlyFromZeroThenHolds()
    {
        var schedule = new LearningRateSchedule(LearningRateSchedule.ParseKind("constant_with_warmup"), 1.0, totalSteps: 100, warmupSteps: 4);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 1, 1], Enumerable.Range(0, 7).Select(s => schedule.At(s)));
    }

    [Fact]
    public void Constant_IsFlat_AndRefusesAWarmupItWouldIgnore()
    {
        var schedule = new LearningRateSchedule(LearningRateSchedule.ParseKind("constant"), 3e-4, totalSteps: 10);
        Assert.All(Enumerable.Range(0, 12), s => Assert.Equal(3e-4, schedule.At(s)));
        Assert.Contains("constant_with_warmup", Assert.Throws<ArgumentException>(() =>
            new LearningRateSchedule(LearningRateScheduleKind.Constant, 3e-4, totalSteps: 10, warmupSteps: 2)).Message);
    }

    [Fact]
    public void ParseKind_ReadsHuggingFaceNames_AndListsThemOnError()
    {
        Assert.Equal(LearningRateScheduleKind.Cosine, LearningRateSchedule.ParseKind("cosine"));
        var e = Assert.Throws<ArgumentException>(() => LearningRateSchedule.ParseKind("linear"));
        Assert.Contains("'linear'", e.Message);
        Assert.Contains("constant, constant_with_warmup, cosine", e.Message);
    }

    [Theory]
    [InlineData(0.1, 100, 10)]
    [InlineData(0.07, 100, 8)] // 100 * 0.07 = 7.000000000000001 in double; Python's math.ceil gives 8 too
    [InlineData(0.03, 1000, 30)]
    [InlineData(0.0, 50, 0)]
    public void WarmupRatio_IsCeilOfRatioTimesTotal(double ratio, long total, long expected) =>
        Assert.Equal(expected, LearningRateSchedule.WarmupStepsFromRatio(ratio, total));

    [Fact]
    public void ClipByGlobalNorm_ScalesLikeTorch_AndReturnsThePreClipNorm()
    {
        var a = new Parameter("a", [2], [0f, 0f], trainable: true);
        var b = new Parameter("b", [1], [0f], trainable: true);
        var frozen = new Parameter("frozen", [1], [0f], trainable: false);
        var set = new ParameterSet { a, frozen, b };
        a.Grad[0] = 3; a.Grad[1] = 0; b.Grad[0] = 4; // norm 5

        double norm = GradientClipping.ClipByGlobalNorm(set, maxNorm: 1.0);

        Assert.Equal(5.0, norm);
        float scale = (float)(1.0 / (5.0 + 1e-6));
        Assert.Equal(3 * scale, a.Grad[0]);
        Assert.Equal(4 * scale, b.Grad[0]);
        Assert.Equal(1.0, GradientClipping.GlobalNorm(set), 1e-6);
    }

    [Fact]
    public void ClipByGlobalNorm_LeavesSmallGradientsAlone()
    {
        var a = new Parameter("a", [3], new float[3], trainable: true);
        a.Grad[0] = 0.3f;
        Assert.Equal(0.3f, (float)GradientClipping.ClipByGlobalNorm(new ParameterSet { a }, maxNorm: 1.0));
        Assert.Equal(0.3f, a.Grad[0]);
    }

    [Fact]
    public void ClipByGlobalNorm_ReportsANonFiniteNorm_AndLeavesGradientsUntouched()
    {
        var a = new Parameter("a", [9], new float[9], trainable: true);
        a.Grad[0] = 100f;
        a.Grad[8] = float.NaN;
        Assert.True(double.IsNaN(GradientClipping.ClipByGlobalNorm(new ParameterSet { a }, maxNorm: 1.0)));
        Assert.Equal(100f, a.Grad[0]);
        a.Grad[8] = float.PositiveInfinity;
        Assert.True(double.IsPositiveInfinity(GradientClipping.ClipByGlobalNorm(new ParameterSet { a }, maxNorm: 1.0)));
        Assert.Equal(100f, a.Grad[0]);
    }

    [Fact]
    public void GlobalNorm_SumsInDouble_PastWhereFloatWouldOverflow()
    {
        // Each square (1e30) overflows fp32 but not double.
        var a = new Parameter("a", [5], new float[5], trainable: true);
        Array.Fill(a.Grad, 1e20f);
        Assert.Equal(1.0, GradientClipping.GlobalNorm(new ParameterSet { a }) / (Math.Sqrt(5) * (double)1e20f), 1e-15);
    }
}
