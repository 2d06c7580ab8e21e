using OnnxCoEvo.Training.Losses;

namespace OnnxCoEvo.Tests.Training;

public class LossTests
{
    [Fact]
    public void Dpo_AtZeroMargin_IsLn2_WithGradientsMinusAndPlusHalfBeta()
    {
        DpoPairLoss pair = DpoLoss.Pair(new PreferenceLogProbs(PolicyChosen: -5, PolicyRejected: -7, ReferenceChosen: -5, ReferenceRejected: -7), beta: 0.1);
        Assert.Equal(Math.Log(2), pair.Loss, 1e-15);
        Assert.Equal(-0.05, pair.GradPolicyChosen, 1e-15);
        Assert.Equal(0.05, pair.GradPolicyRejected, 1e-15);
        Assert.Equal(0, pair.Margin);
    }

    [Fact]
    public void Dpo_MatchesClosedFormAndFiniteDifferences()
    {
        const double beta = 0.3;
        var logProbs = new PreferenceLogProbs(PolicyChosen: -12.5, PolicyRejected: -20.25, ReferenceChosen: -14.0, ReferenceRejected: -19.0);
        DpoPairLoss pair = DpoLoss.Pair(logProbs, beta);

        double z = beta * ((-12.5 + 14.0) - (-20.25 + 19.0)); // 0.3 * 2.75 = 0.825
        Assert.Equal(-Math.Log(1 / (1 + Math.Exp(-z))), pair.Loss, 1e-14);
        Assert.Equal(beta * 1.5, pair.ChosenReward, 1e-14);
        Assert.Equal(beta * -1.25, pair.RejectedReward, 1e-14);

        const double h = 1e-5;
        double dChosen = (DpoLoss.Pair(logProbs with { PolicyChosen = -12.5 + h }, beta).Loss - DpoLoss.Pair(logProbs with { PolicyChosen = -12.5 - h }, beta).Loss) / (2 * h);
        double dRejected = (DpoLoss.Pair(logProbs with { PolicyRejected = -20.25 + h }, beta).Loss - DpoLoss.Pair(logProbs with { PolicyRejected = -20.25 - h }, beta).Loss) / (2 * h);
        Assert.Equal(dChosen, pair.GradPolicyChosen, 1e-9);
        Assert.Equal(dRejected, pair.GradPolicyRejected, 1e-9);
    }

    [Fact]
    public void Dpo_IsStableForLargeMargins()
    {
        DpoPairLoss confident = DpoLoss.Pair(new PreferenceLogProbs(0, -5000, 0, 0), beta: 1);
        Assert.Equal(0, confident.Loss);
        Assert.Equal(0, confident.GradPolicyChosen);
        DpoPairLoss wrong = DpoLoss.Pair(new PreferenceLogProbs(-5000, 0, 0, 0), beta: 1);
        Assert.Equal(5000, wrong.Loss);
        Assert.Equal(-1, wrong.GradPolicyChosen);
    }

    private static readonly PreferenceLogProbs[] Pairs =
    [
        new(-10, -12, -11, -11),
        new(-30, -25, -29, -26),
        new(-8, -9, -8, -9),
        new(-50, -70, -52, -65),
    ];

    [Fact]
    public void CoEvolvingLoss_IsHalfDpoPlusHalfTokenMeanNll_WithMatchingGradient()
    {
        PreferenceLossOptions options = PreferenceLossOptions.CoEvolving(beta: 0.2);
        var batch = new PreferenceBatchSize(PairCount: 4, ChosenTokenCount: 40);
        var gradChosen = new double[4];
        var gradRejected = new double[4];
        PreferenceLossResult result = PreferenceLoss.Compute(Pairs, options, batch, gradChosen, gradRejected);

        double dpo = Pairs.Average(p => DpoLoss.Pair(p, 0.2).Loss);
        double nll = -Pairs.Sum(p => p.PolicyChosen) / 40;
        Assert.Equal(dpo, result.Dpo, 1e-14);
        Assert.Equal(nll, result.ChosenNll, 1e-14);
        Assert.Equal(0.5 * dpo + 0.5 * nll, result.Total, 1e-14);
        Assert.Equal(0.5, result.Accuracy); // margins: +2 (right), -2 (wrong), 0 (not > 0), +7 (right) at beta 1
        Assert.Equal(Pairs.Average(p => 0.2 * (p.PolicyChosen - p.ReferenceChosen)), result.ChosenReward, 1e-14);
        Assert.Equal(result.ChosenReward - result.RejectedReward, result.Margin, 1e-14);

        const double h = 1e-6;
        for (int i = 0; i < Pairs.Length; i++)
        {
            double numericChosen = (TotalWith(i, chosenDelta: h, 0) - TotalWith(i, chosenDelta: -h, 0)) / (2 * h);
            double numericRejected = (TotalWith(i, 0, rejectedDelta: h) - TotalWith(i, 0, rejectedDelta: -h)) / (2 * h);
            Assert.Equal(numericChosen, gradChosen[i], 1e-8);
            Assert.Equal(numericRejected, gradRejected[i], 1e-8);
        }

        double TotalWith(int index, double chosenDelta, double rejectedDelta)
        {
            PreferenceLogProbs[] moved = (PreferenceLogProbs[])Pairs.Clone();
            moved[index] = moved[index] with { PolicyChosen = moved[index].PolicyChosen + chosenDelta, PolicyRejected = moved[index].PolicyRejected + rejectedDelta };
            return PreferenceLoss.Compute(moved, options, batch, new double[4], new double[4]).Total;
        }
    }

    [Fact]
    public void IprLoss_AddsTheChosenLogProbSumAveragedOverPairs()
    {
        var gradChosen = new double[4];
        PreferenceLossResult result = PreferenceLoss.Compute(Pairs, PreferenceLossOptions.IprDpoWithSft(0.1), new PreferenceBatchSize(4, 999), gradChosen, new double[4]);
        Assert.Equal(-Pairs.Average(p => p.PolicyChosen), result.ChosenNll, 1e-14);
        Assert.Equal(result.Dpo + result.ChosenNll, result.Total, 1e-14);
        Assert.Equal(DpoLoss.Pair(Pairs[0], 0.1).GradPolicyChosen / 4 - 1.0 / 4, gradChosen[0], 1e-15);
    }

    [Fact]
    public void PreferenceLoss_OverTwoMicroBatches_AddsUpToTheFullBatch()
    {
        PreferenceLossOptions options = PreferenceLossOptions.CoEvolving(beta: 0.1);
        var batch = new PreferenceBatchSize(4, 33);
        var fullChosen = new double[4];
        var fullRejected = new double[4];
        PreferenceLossResult full = PreferenceLoss.Compute(Pairs, options, batch, fullChosen, fullRejected);

        var splitChosen = new double[4];
        var splitRejected = new double[4];
        PreferenceLossResult first = PreferenceLoss.Compute(Pairs.AsSpan(0, 1), options, batch, splitChosen.AsSpan(0, 1), splitRejected.AsSpan(0, 1));
        PreferenceLossResult second = PreferenceLoss.Compute(Pairs.AsSpan(1), options, batch, splitChosen.AsSpan(1), splitRejected.AsSpan(1));
        PreferenceLossResult sum = PreferenceLossResult.Zero + first + second;

        Assert.Equal(full.Total, sum.Total, 1e-14);
        Assert.Equal(full.Accuracy, sum.Accuracy, 1e-15);
        Assert.Equal(full.Margin, sum.Margin, 1e-14);
        Assert.Equal(fullChosen, splitChosen);
        Assert.Equal(fullRejected, splitRejected);
    }

    [Fact]
    public void Sft_OverTwoMicroBatches_EqualsTheSingleBatchMean()
    {
        // Micro-batch 1 scores 1 token, micro-batch 2 scores 3: a per-micro-batch mean would weight them 1/2 each.
        float[] logProbs1 = [-0.5f, -2.0f, -9.0f];
        bool[] mask1 = [false, true, false];
        float[] logProbs2 = [-1.0f, -0.25f, -4.0f, -7.0f];
        bool[] mask2 = [true, true, false, true];
        const long batchTokens = 4;

        var grad1 = new float[3];
        var grad2 = new float[4];
        double accumulated = SftLoss.Compute(logProbs1, mask1, batchTokens, grad1) + SftLoss.Compute(logProbs2, mask2, batchTokens, grad2);

        var gradAll = new float[7];
        double single = SftLoss.Compute([.. logProbs1, .. logProbs2], [.. mask1, .. mask2], batchTokens, gradAll);
        double expected = (2.0 + 1.0 + 0.25 + 7.0) / 4;
        Assert.Equal(expected, single, 1e-15);
        Assert.Equal(expected, accumulated, 1e-15);
        Assert.Equal([0f, -0.25f, 0f], grad1);
        Assert.Equal([-0.25f, -0.25f, 0f, -0.25f], grad2);
        Assert.Equal([.. grad1, .. grad2], gradAll);

        double perMicroBatchMean = (2.0 / 1 + (1.0 + 0.25 + 7.0) / 3) / 2;
        Assert.NotEqual(expected, perMicroBatchMean, 1e-3);
    }

    [Fact]
    public void SequenceLogProbs_SumMaskedTokens_AndBroadcastTheGradientBack()
    {
        float[] logProbs = [-1, -2, -3, -4, -5];
        bool[] mask = [false, true, true, true, false];
        int[] starts = [0, 2, 5];
        var sums = new double[2];
        SequenceLogProbs.Sum(logProbs, mask, starts, sums);
        Assert.Equal([-2.0, -7.0], sums);

        var tokenGradients = new float[5];
        SequenceLogProbs.BroadcastGradient([0.5, -1.5], mask, starts, tokenGradients);
        Assert.Equal([0f, 0.5f, -1.5f, -1.5f, 0f], tokenGradients);
    }
}
