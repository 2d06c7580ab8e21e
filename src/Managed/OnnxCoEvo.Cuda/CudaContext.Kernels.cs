namespace OnnxCoEvo.Cuda;

/// <summary>Free and total device memory and the scratch pool's high-water mark, in bytes.</summary>
public readonly record struct DeviceMemory(long FreeBytes, long TotalBytes, long ScratchPeakBytes);

/// <summary>A row of a preference batch's DPO result (coevo_dpo_loss's result [7]): the shares of the batch means.</summary>
public readonly record struct DpoLossResult(double Total, double Dpo, double ChosenNll, double ChosenReward, double RejectedReward,
    double Margin, double Accuracy);

// One typed method per kernel entry of native/include/coevo.h (same names, same argument order; shapes and maths are
// documented there and in the CPU twins). Every method queues work on the stream and returns; a bad argument throws
// CudaException (InvalidArgument) with the library's message. Optional buffers are nullable.
public sealed partial class CudaContext
{
    private AttentionKernel _attentionKernel = AttentionKernel.Fma;

    /// <summary>Which attention kernels this context runs (coevo_context_set_attention_kernel); both compute the same.</summary>
    public AttentionKernel AttentionKernel
    {
        get => _attentionKernel;
        set
        {
            NativeMethods.Check(NativeMethods.coevo_context_set_attention_kernel(Handle, value));
            _attentionKernel = value;
        }
    }

    /// <summary>Queues a device-to-device copy of <paramref name="bytes"/> bytes.</summary>
    public void Copy<T>(DeviceBuffer<T> destination, DeviceBuffer<T> source, long bytes)
        where T : unmanaged =>
        NativeMethods.Check(NativeMethods.coevo_buffer_copy(Handle, destination.Handle, 0, source.Handle, 0, checked((nuint)bytes)));

    /// <summary>Queues a zero fill of the whole buffer.</summary>
    public void Zero<T>(DeviceBuffer<T> buffer)
        where T : unmanaged => NativeMethods.Check(NativeMethods.coevo_buffer_zero(Handle, buffer.Handle));

    /// <summary>Starts the GPU timer (an event on the stream).</summary>
    public void StartTimer() => NativeMethods.Check(NativeMethods.coevo_context_timer_start(Handle));

    /// <summary>Milliseconds of GPU time since <see cref="StartTimer"/> (waits for the queued work).</summary>
    public float StopTimer()
    {
        NativeMethods.Check(NativeMethods.coevo_context_timer_stop(Handle, out float ms));
        return ms;
    }

    /// <summary>Device memory after the queued work; <paramref name="resetPeak"/> then restarts the scratch high-water mark.</summary>
    public DeviceMemory Memory(bool resetPeak = false)
    {
        NativeMethods.Check(NativeMethods.coevo_context_memory(Handle, resetPeak ? 1 : 0, out nuint free, out nuint total, out nuint peak));
        return new DeviceMemory((long)free, (long)total, (long)peak);
    }

    /// <summary>Twin: OnnxCoEvo.Training.Cpu.Embedding.Forward.</summary>
    public void EmbeddingForward(DeviceBuffer<int> ids, DeviceBuffer<BFloat16> table, DeviceBuffer<BFloat16> y, int tokens, int vocab, int dim) =>
        NativeMethods.Check(NativeMethods.coevo_embedding_forward(Handle, ids.Handle, table.Handle, y.Handle, tokens, vocab, dim));

    /// <summary>Twin: Embedding.Backward (dTable +=, fp32).</summary>
    public void EmbeddingBackward(DeviceBuffer<int> ids, DeviceBuffer<BFloat16> dy, DeviceBuffer<float> dTable, int tokens, int vocab, int dim) =>
        NativeMethods.Check(NativeMethods.coevo_embedding_backward(Handle, ids.Handle, dy.Handle, dTable.Handle, tokens, vocab, dim));

    /// <summary>Twin: RmsNorm.Forward (bf16 storage).</summary>
    public void RmsNormForward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> weight, DeviceBuffer<BFloat16> y, DeviceBuffer<float> rstd,
        int rows, int dim, float eps) =>
        NativeMethods.Check(NativeMethods.coevo_rmsnorm_forward(Handle, x.Handle, weight.Handle, y.Handle, rstd.Handle, rows, dim, eps));

    /// <summary>Twin: RmsNorm.Backward (dx written or added; dWeight += when given).</summary>
    public void RmsNormBackward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> weight, DeviceBuffer<float> rstd, DeviceBuffer<BFloat16> dy,
        DeviceBuffer<BFloat16>? dx, DeviceBuffer<float>? dWeight, int rows, int dim, bool accumulateDx = false) =>
        NativeMethods.Check(NativeMethods.coevo_rmsnorm_backward(Handle, x.Handle, weight.Handle, rstd.Handle, dy.Handle, Of(dx), Of(dWeight),
            rows, dim, accumulateDx ? 1 : 0));

    /// <summary>Twin: Rope.Forward (in place; cos/sin are RopeTable's tables).</summary>
    public void RopeForward(DeviceBuffer<BFloat16> x, DeviceBuffer<int> positions, DeviceBuffer<float> cos, DeviceBuffer<float> sin,
        int tokens, int heads, int headDim, int tablePositions) =>
        NativeMethods.Check(NativeMethods.coevo_rope_forward(Handle, x.Handle, positions.Handle, cos.Handle, sin.Handle, tokens, heads, headDim, tablePositions));

    /// <summary>Twin: Rope.Backward (in place).</summary>
    public void RopeBackward(DeviceBuffer<BFloat16> dx, DeviceBuffer<int> positions, DeviceBuffer<float> cos, DeviceBuffer<float> sin,
        int tokens, int heads, int headDim, int tablePositions) =>
        NativeMethods.Check(NativeMethods.coevo_rope_backward(Handle, dx.Handle, positions.Handle, cos.Handle, sin.Handle, tokens, heads, headDim, tablePositions));

    /// <summary>Twin: SwiGlu.Forward.</summary>
    public void SwiGluForward(DeviceBuffer<BFloat16> gate, DeviceBuffer<BFloat16> up, DeviceBuffer<BFloat16> h, int rows, int width) =>
        NativeMethods.Check(NativeMethods.coevo_swiglu_forward(Handle, gate.Handle, up.Handle, h.Handle, rows, width));

    /// <summary>Twin: SwiGlu.Backward.</summary>
    public void SwiGluBackward(DeviceBuffer<BFloat16> gate, DeviceBuffer<BFloat16> up, DeviceBuffer<BFloat16> dh, DeviceBuffer<BFloat16> dGate,
        DeviceBuffer<BFloat16> dUp, int rows, int width) =>
        NativeMethods.Check(NativeMethods.coevo_swiglu_backward(Handle, gate.Handle, up.Handle, dh.Handle, dGate.Handle, dUp.Handle, rows, width));

    /// <summary>Twin: CausalAttention.Forward (cuSeqlens = the twin's sequence starts; window 0 = full causal).</summary>
    public void AttentionForward(DeviceBuffer<BFloat16> q, DeviceBuffer<BFloat16> k, DeviceBuffer<BFloat16> v, DeviceBuffer<int> cuSeqlens,
        DeviceBuffer<BFloat16> output, DeviceBuffer<float> logSumExp, AttentionShape shape) =>
        NativeMethods.Check(NativeMethods.coevo_attention_forward(Handle, q.Handle, k.Handle, v.Handle, cuSeqlens.Handle, output.Handle,
            logSumExp.Handle, shape.Tokens, shape.Sequences, shape.MaxSequenceLength, shape.Heads, shape.KvHeads, shape.HeadDim, shape.Window));

    /// <summary>Twin: CausalAttention.Backward (dq, dk, dv written).</summary>
    public void AttentionBackward(DeviceBuffer<BFloat16> q, DeviceBuffer<BFloat16> k, DeviceBuffer<BFloat16> v, DeviceBuffer<BFloat16> output,
        DeviceBuffer<float> logSumExp, DeviceBuffer<BFloat16> dOutput, DeviceBuffer<int> cuSeqlens, DeviceBuffer<BFloat16> dq,
        DeviceBuffer<BFloat16> dk, DeviceBuffer<BFloat16> dv, AttentionShape shape) =>
        NativeMethods.Check(NativeMethods.coevo_attention_backward(Handle, q.Handle, k.Handle, v.Handle, output.Handle, logSumExp.Handle,
            dOutput.Handle, cuSeqlens.Handle, dq.Handle, dk.Handle, dv.Handle, shape.Tokens, shape.Sequences, shape.MaxSequenceLength,
            shape.Heads, shape.KvHeads, shape.HeadDim, shape.Window));

    /// <summary>Twin: Linear.Forward.</summary>
    public void LinearForward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> weight, DeviceBuffer<BFloat16>? bias, DeviceBuffer<BFloat16> y,
        int rows, int inFeatures, int outFeatures) =>
        NativeMethods.Check(NativeMethods.coevo_linear_forward(Handle, x.Handle, weight.Handle, Of(bias), y.Handle, rows, inFeatures, outFeatures));

    /// <summary>Twin: Linear.Backward (no bias gradient: the base is frozen).</summary>
    public void LinearBackward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> weight, DeviceBuffer<BFloat16> dy, DeviceBuffer<BFloat16>? dx,
        DeviceBuffer<float>? dWeight, int rows, int inFeatures, int outFeatures, bool accumulateDx = false) =>
        NativeMethods.Check(NativeMethods.coevo_linear_backward(Handle, x.Handle, weight.Handle, dy.Handle, Of(dx), Of(dWeight), rows,
            inFeatures, outFeatures, accumulateDx ? 1 : 0));

    /// <summary>Twin: Linear.LoraForward (y +=; xa written).</summary>
    public void LoraForward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> loraA, DeviceBuffer<BFloat16> loraB, float scaling,
        DeviceBuffer<BFloat16> xa, DeviceBuffer<BFloat16> y, int rows, int inFeatures, int outFeatures, int rank) =>
        NativeMethods.Check(NativeMethods.coevo_lora_forward(Handle, x.Handle, loraA.Handle, loraB.Handle, scaling, xa.Handle, y.Handle,
            rows, inFeatures, outFeatures, rank));

    /// <summary>Twin: Linear.LoraBackward (dx, dA, dB all +=, each optional).</summary>
    public void LoraBackward(DeviceBuffer<BFloat16> x, DeviceBuffer<BFloat16> loraA, DeviceBuffer<BFloat16> loraB, float scaling,
        DeviceBuffer<BFloat16> xa, DeviceBuffer<BFloat16> dy, DeviceBuffer<BFloat16>? dx, DeviceBuffer<float>? dLoraA, DeviceBuffer<float>? dLoraB,
        int rows, int inFeatures, int outFeatures, int rank) =>
        NativeMethods.Check(NativeMethods.coevo_lora_backward(Handle, x.Handle, loraA.Handle, loraB.Handle, scaling, xa.Handle, dy.Handle,
            Of(dx), Of(dLoraA), Of(dLoraB), rows, inFeatures, outFeatures, rank));

    /// <summary>Twin: TokenLogProbs.Forward (<paramref name="scoredRows"/> lists the masked token indices in order).</summary>
    public void TokenLogProbsForward(DeviceBuffer<BFloat16> hidden, DeviceBuffer<BFloat16> headWeight, DeviceBuffer<int> targets,
        DeviceBuffer<int> scoredRows, DeviceBuffer<float> logProbs, DeviceBuffer<float> logSumExp, int tokens, int dim, int vocab,
        int scored, int chunkRows = 0) =>
        NativeMethods.Check(NativeMethods.coevo_token_logprobs_forward(Handle, hidden.Handle, headWeight.Handle, targets.Handle,
            scoredRows.Handle, logProbs.Handle, logSumExp.Handle, tokens, dim, vocab, scored, chunkRows));

    /// <summary>Twin: TokenLogProbs.Backward (dHidden written; the head is frozen).</summary>
    public void TokenLogProbsBackward(DeviceBuffer<BFloat16> hidden, DeviceBuffer<BFloat16> headWeight, DeviceBuffer<int> targets,
        DeviceBuffer<int> scoredRows, DeviceBuffer<float> logSumExp, DeviceBuffer<float> dLogProbs, DeviceBuffer<BFloat16> dHidden,
        int tokens, int dim, int vocab, int scored, int chunkRows = 0) =>
        NativeMethods.Check(NativeMethods.coevo_token_logprobs_backward(Handle, hidden.Handle, headWeight.Handle, targets.Handle,
            scoredRows.Handle, logSumExp.Handle, dLogProbs.Handle, dHidden.Handle, tokens, dim, vocab, scored, chunkRows));

    /// <summary>Twin: Losses.SftLoss.Compute (loss [1] fp64, grad [tokens]).</summary>
    public void SftLoss(DeviceBuffer<float> logProbs, DeviceBuffer<byte> mask, DeviceBuffer<double> loss, DeviceBuffer<float> gradient,
        int tokens, long batchScoredTokens) =>
        NativeMethods.Check(NativeMethods.coevo_sft_loss(Handle, logProbs.Handle, mask.Handle, loss.Handle, gradient.Handle, tokens, batchScoredTokens));

    /// <summary>Twin: Losses.PreferenceLoss.Compute over SequenceLogProbs sums (pair i = sequences 2i, 2i + 1).</summary>
    public void DpoLoss(DeviceBuffer<float> logProbs, DeviceBuffer<byte> mask, DeviceBuffer<int> cuSeqlens, DeviceBuffer<double> reference,
        DeviceBuffer<double> result, DeviceBuffer<float> gradient, int tokens, int pairs, DpoLossSettings settings) =>
        NativeMethods.Check(NativeMethods.coevo_dpo_loss(Handle, logProbs.Handle, mask.Handle, cuSeqlens.Handle, reference.Handle, result.Handle,
            gradient.Handle, tokens, pairs, settings.Beta, settings.DpoWeight, settings.ChosenNllWeight, settings.ChosenNllTokenMean ? 1 : 0,
            settings.BatchPairs, settings.BatchChosenTokens));

    /// <summary>Twin: Optim.AdamW's update of one parameter (step is 1-based).</summary>
    public void AdamWStep(DeviceBuffer<float> parameter, DeviceBuffer<float> gradient, DeviceBuffer<float> firstMoment, DeviceBuffer<float> secondMoment,
        DeviceBuffer<BFloat16>? parameterBf16, float learningRate, AdamWSettings settings, long step) =>
        NativeMethods.Check(NativeMethods.coevo_adamw_step(Handle, parameter.Handle, gradient.Handle, firstMoment.Handle, secondMoment.Handle,
            Of(parameterBf16), parameter.Length, learningRate, settings.Beta1, settings.Beta2, settings.Epsilon, settings.WeightDecay, step));

    /// <summary>Twin: OnnxCoEvo.Onnx.Generation.TokenSampler (Candidates + the draw), with the caller's uniforms.</summary>
    public void SampleTokens(DeviceBuffer<float> logits, DeviceBuffer<float> uniforms, DeviceBuffer<int> ids, int rows, int vocab,
        float temperature, int topK, float topP) =>
        NativeMethods.Check(NativeMethods.coevo_sample_tokens(Handle, logits.Handle, uniforms.Handle, ids.Handle, rows, vocab, temperature, topK, topP));

    private static CudaBufferHandle Of<T>(DeviceBuffer<T>? buffer)
        where T : unmanaged => buffer?.Handle ?? CudaBufferHandle.Null;
}

/// <summary>Mirror of <c>coevo_attention_kernel</c>: fp32 FMA tiles (the default) or tensor cores (WMMA, bf16 operands).</summary>
public enum AttentionKernel
{
    Fma = 0,
    TensorCores = 1,
}

/// <summary>The shape of one attention call over a packed batch (FlashAttention's varlen arguments).</summary>
/// <param name="Window">Mistral's sliding window, or 0 for full causal attention.</param>
public sealed record AttentionShape(int Tokens, int Sequences, int MaxSequenceLength, int Heads, int KvHeads, int HeadDim, int Window = 0)
{
    /// <summary>The shape of the packed sequence starts <paramref name="cuSeqlens"/> (the twin's sequenceStarts).</summary>
    public static AttentionShape FromStarts(ReadOnlySpan<int> cuSeqlens, int heads, int kvHeads, int headDim, int window = 0)
    {
        int longest = 0;
        for (int i = 1; i < cuSeqlens.Length; i++)
            longest = Math.Max(longest, cuSeqlens[i] - cuSeqlens[i - 1]);
        return new AttentionShape(cuSeqlens[^1], cuSeqlens.Length - 1, longest, heads, kvHeads, headDim, window);
    }
}

/// <summary>coevo_dpo_loss's options (PreferenceLossOptions + PreferenceBatchSize of the twin).</summary>
public sealed record DpoLossSettings(double Beta, double DpoWeight, double ChosenNllWeight, bool ChosenNllTokenMean, int BatchPairs,
    long BatchChosenTokens);

/// <summary>coevo_adamw_step's hyperparameters (the twin's AdamWOptions).</summary>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0);
