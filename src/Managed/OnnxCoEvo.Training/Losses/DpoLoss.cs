namespace OnnxCoEvo.Training.Losses;

/// <summary>The four sequence log-probs (sums over the scored tokens of each continuation) of one preference pair.</summary>
public readonly record struct PreferenceLogProbs(double PolicyChosen, double PolicyRejected, double ReferenceChosen, double ReferenceRejected);

/// <summary>
/// One pair's DPO loss and its gradient with respect to the policy's chosen and rejected log-probs, with TRL's implicit
/// rewards: chosen reward β(πc - rc), rejected reward β(πr - rr).
/// </summary>
public readonly record struct DpoPairLoss(double Loss, double GradPolicyChosen, double GradPolicyRejected, double ChosenReward, double RejectedReward)
{
    public double Margin => ChosenReward - RejectedReward;
}

/// <summary>DPO with the sigmoid loss (Rafailov et al.; TRL loss_type "sigmoid", label smoothing 0).</summary>
public static class DpoLoss
{
    /// <summary>One pair, unscaled (the batch mean divides by the pair count).</summary>
    public static DpoPairLoss Pair(PreferenceLogProbs logProbs, double beta)
    {
        RequireBeta(beta);
        double chosenReward = beta * (logProbs.PolicyChosen - logProbs.ReferenceChosen);
        double rejectedReward = beta * (logProbs.PolicyRejected - logProbs.ReferenceRejected);
        // z = β((πc - rc) - (πr - rr)),  L = -log σ(z) = softplus(-z)
        // dL/dz = -σ(-z)  =>  dL/dπc = -β σ(-z),  dL/dπr = +β σ(-z)   (the reference log-probs are constants)
        double z = chosenReward - rejectedReward;
        double sigmoidOfMinusZ = Sigmoid(-z);
        return new DpoPairLoss(Softplus(-z), -beta * sigmoidOfMinusZ, beta * sigmoidOfMinusZ, chosenReward, rejectedReward);
    }

    /// <summary>log(1 + e^x) without overflow for large x or loss of precision for very negative x.</summary>
    public static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    /// <summary>1 / (1 + e^-x), evaluated on the side where the exponential cannot overflow.</summary>
    public static double Sigmoid(double x)
    {
        if (x >= 0)
            return 1 / (1 + Math.Exp(-x));
        double e = Math.Exp(x);
        return e / (1 + e);
    }

    internal static void RequireBeta(double beta)
    {
        if (!(beta > 0) || double.IsInfinity(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "DPO beta must be finite and > 0");
    }
}

/// <summary>How a negative log-likelihood over tokens is normalised across the optimizer batch.</summary>
public enum TokenNormalization
{
    /// <summary>Divided by the batch's scored-token count: the SFT token mean (Co-Evolving's auxiliary SFT term).</summary>
    TokenMean,

    /// <summary>Summed over each sequence's tokens, then averaged over the batch's sequences (IPR's dpo_with_sft_loss: L_DPO - log πθ(y_w)).</summary>
    SequenceSum,
}

/// <summary>
/// The preference loss L = λ_DPO · L_DPO + λ_NLL · NLL(chosen), NLL over the chosen continuations' scored tokens.
/// </summary>
public sealed record PreferenceLossOptions
{
    public double Beta { get; init; } = 0.1;

    public double DpoWeight { get; init; } = 1;

    public double ChosenNllWeight { get; init; }

    public TokenNormalization ChosenNllNormalization { get; init; } = TokenNormalization.TokenMean;

    /// <summary>Plain DPO (ETO).</summary>
    public static PreferenceLossOptions Dpo(double beta) => new() { Beta = beta };

    /// <summary>Co-Evolving's target loss: 0.5 · L_DPO + 0.5 · L_SFT(chosen), SFT a token mean.</summary>
    public static PreferenceLossOptions CoEvolving(double beta) =>
        new() { Beta = beta, DpoWeight = 0.5, ChosenNllWeight = 0.5, ChosenNllNormalization = TokenNormalization.TokenMean };

    /// <summary>IPR's dpo_with_sft_loss: L_DPO - log πθ(y_w), the chosen log-prob summed over tokens, averaged over pairs.</summary>
    public static PreferenceLossOptions IprDpoWithSft(double beta) =>
        new() { Beta = beta, DpoWeight = 1, ChosenNllWeight = 1, ChosenNllNormalization = TokenNormalization.SequenceSum };

    public void Validate()
    {
        DpoLoss.RequireBeta(Beta);
        if (!(DpoWeight >= 0) || double.IsInfinity(DpoWeight))
            throw new ArgumentException($"DPO weight must be finite and >= 0, is {DpoWeight}");
        if (!(ChosenNllWeight >= 0) || double.IsInfinity(ChosenNllWeight))
            throw new ArgumentException($"chosen NLL weight must be finite and >= 0, is {ChosenNllWeight}");
        if (!Enum.IsDefined(ChosenNllNormalization))
            throw new ArgumentException($"unknown chosen NLL normalisation {ChosenNllNormalization}");
    }
}

/// <summary>The size of the whole optimizer batch, over all its micro-batches: every mean divides by these.</summary>
/// <param name="PairCount">Preference pairs in the batch.</param>
/// <param name="ChosenTokenCount">Scored tokens of the chosen continuations in the batch (for <see cref="TokenNormalization.TokenMean"/>).</param>
public readonly record struct PreferenceBatchSize(int PairCount, long ChosenTokenCount);

/// <summary>
/// A micro-batch's share of the batch's preference loss and of TRL's reward metrics: each field is a sum over this
/// micro-batch's pairs divided by the batch size, so adding the results of every micro-batch gives the batch means.
/// </summary>
/// <param name="Total">λ_DPO · Dpo + λ_NLL · ChosenNll.</param>
/// <param name="Dpo">Mean over pairs of -log σ(z) (unweighted).</param>
/// <param name="ChosenNll">The chosen NLL as normalised (unweighted).</param>
/// <param name="ChosenReward">Mean β(πc - rc) (TRL rewards/chosen).</param>
/// <param name="RejectedReward">Mean β(πr - rr) (TRL rewards/rejected).</param>
/// <param name="Margin">Mean chosen minus rejected reward (TRL rewards/margins).</param>
/// <param name="Accuracy">Fraction of pairs with margin &gt; 0 (TRL rewards/accuracies).</param>
public sealed record PreferenceLossResult(double Total, double Dpo, double ChosenNll, double ChosenReward, double RejectedReward, double Margin, double Accuracy)
{
    public static PreferenceLossResult Zero { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public static PreferenceLossResult operator +(PreferenceLossResult a, PreferenceLossResult b) => new(
        a.Total + b.Total, a.Dpo + b.Dpo, a.ChosenNll + b.ChosenNll, a.ChosenReward + b.ChosenReward,
        a.RejectedReward + b.RejectedReward, a.Margin + b.Margin, a.Accuracy + b.Accuracy);
}

public static class PreferenceLoss
{
    /// <summary>
    /// The loss of a micro-batch's pairs as a share of the batch loss, and its gradient with respect to each pair's policy
    /// chosen and rejected log-probs (written to the two spans; spread them to tokens with
    /// <see cref="SequenceLogProbs.BroadcastGradient"/>).
    /// </summary>
    public static PreferenceLossResult Compute(ReadOnlySpan<PreferenceLogProbs> pairs, PreferenceLossOptions options, PreferenceBatchSize batch,
        Span<double> gradPolicyChosen, Span<double> gradPolicyRejected)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        LossArguments.RequireSameLength(pairs.Length, gradPolicyChosen.Length, nameof(gradPolicyChosen));
        LossArguments.RequireSameLength(pairs.Length, gradPolicyRejected.Length, nameof(gradPolicyRejected));
        if (batch.PairCount < pairs.Length)
            throw new ArgumentException($"the batch has {batch.PairCount} pairs but this micro-batch alone has {pairs.Length}", nameof(batch));
        bool tokenMean = options.ChosenNllNormalization == TokenNormalization.TokenMean;
        if (tokenMean && options.ChosenNllWeight > 0 && batch.ChosenTokenCount < 1)
            throw new ArgumentException("a token-mean chosen NLL needs the batch's chosen token count (>= 1)", nameof(batch));

        // With P pairs and D = N_chosen_tokens (token mean) or P (sequence sum):
        //   L = (λ_dpo / P) Σ_i softplus(-z_i) + (λ_nll / D) Σ_i (-πc_i)
        //   dL/dπc_i = (λ_dpo / P) (-β σ(-z_i)) - λ_nll / D,   dL/dπr_i = (λ_dpo / P) (β σ(-z_i))
        double perPair = 1.0 / Math.Max(1, batch.PairCount);
        double nllDivisor = tokenMean ? Math.Max(1, batch.ChosenTokenCount) : Math.Max(1, batch.PairCount);
        double nllGradient = -options.ChosenNllWeight / nllDivisor;
        double dpo = 0, chosenLogProbs = 0, chosenReward = 0, rejectedReward = 0, accurate = 0;
        for (int i = 0; i < pairs.Length; i++)
        {
            DpoPairLoss pair = DpoLoss.Pair(pairs[i], options.Beta);
            dpo += pair.Loss;
            chosenLogProbs += pairs[i].PolicyChosen;
            chosenReward += pair.ChosenReward;
            rejectedReward += pair.RejectedReward;
            if (pair.Margin > 0)
                accurate++;
            gradPolicyChosen[i] = options.DpoWeight * perPair * pair.GradPolicyChosen + nllGradient;
            gradPolicyRejected[i] = options.DpoWeight * perPair * pair.GradPolicyRejected;
        }
        double dpoShare = dpo * perPair;
        double nllShare = -chosenLogProbs / nllDivisor;
        return new PreferenceLossResult(
            Total: options.DpoWeight * dpoShare + options.ChosenNllWeight * nllShare,
            Dpo: dpoShare,
            ChosenNll: nllShare,
            ChosenReward: chosenReward * perPair,
            RejectedReward: rejectedReward * perPair,
            Margin: (chosenReward - rejectedReward) * perPair,
            Accuracy: accurate * perPair);
    }
}
