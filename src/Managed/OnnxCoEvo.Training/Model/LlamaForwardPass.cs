using OnnxCoEvo.Training.Data;

namespace OnnxCoEvo.Training.Model;

/// <summary>
/// The result of <see cref="LlamaCpuModel.Forward"/>: the scored tokens' log-probabilities and, when the pass keeps
/// activations, what <see cref="LlamaCpuModel.Backward"/> needs (per block <see cref="LayerActivations"/>, the final
/// norm's input and rstd, and the head's logsumexp per token).
/// </summary>
public sealed class LlamaForwardPass
{
    internal LlamaForwardPass(LlamaCpuModel model, PackedBatch batch, bool adapterApplied, float[] tokenLogProbs, float[] headLogSumExp,
        LayerActivations[]? layers, float[]? finalInput, float[]? finalRstd)
    {
        Model = model;
        Batch = batch;
        AdapterApplied = adapterApplied;
        TokenLogProbs = tokenLogProbs;
        HeadLogSumExp = headLogSumExp;
        Layers = layers;
        FinalInput = finalInput;
        FinalRstd = finalRstd;
    }

    /// <summary>[T]: log p(TargetIds[t]) where LossMask[t], 0 elsewhere.</summary>
    public float[] TokenLogProbs { get; }

    internal LlamaCpuModel Model { get; }

    internal PackedBatch Batch { get; }

    /// <summary>Whether the LoRA terms ran (the model's AdapterEnabled at forward time); backward follows the same path.</summary>
    internal bool AdapterApplied { get; }

    /// <summary>[T] logsumexp of each scored row's logits (0 elsewhere).</summary>
    internal float[] HeadLogSumExp { get; }

    /// <summary>Null when the pass was made with keepActivations = false.</summary>
    internal LayerActivations[]? Layers { get; }

    /// <summary>[T, hidden] the residual stream entering the final norm.</summary>
    internal float[]? FinalInput { get; }

    /// <summary>[T] rstd of the final norm.</summary>
    internal float[]? FinalRstd { get; }
}
