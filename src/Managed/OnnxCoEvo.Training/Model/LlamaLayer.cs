using System.Numerics.Tensors;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Model;

/// <summary>What every layer of one pass shares: the batch's shape, the RoPE table and whether LoRA runs.</summary>
internal sealed record LayerContext(ModelConfig Config, PackedBatch Batch, RopeTable Rope, bool Adapter)
{
    public int Tokens => Batch.TokenCount;
}

/// <summary>
/// One decoder block of HF LlamaDecoderLayer (Mistral and Qwen2 are the same block):
///   x += o_proj(attention(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1))),  n1 = input_layernorm(x)
///   x += down_proj(silu(gate_proj(n2)) * up_proj(n2)),                        n2 = post_attention_layernorm(x)
/// </summary>
internal sealed class LlamaLayer
{
    public const int Q = 0, K = 1, V = 2, O = 3, Gate = 4, Up = 5, Down = 6;

    public LlamaLayer(Parameter inputNorm, Parameter postAttentionNorm, Projection[] projections)
    {
        InputNorm = inputNorm;
        PostAttentionNorm = postAttentionNorm;
        Projections = projections;
    }

    public Parameter InputNorm { get; }

    public Parameter PostAttentionNorm { get; }

    /// <summary>q, k, v, o, gate, up, down: indexed as <see cref="LoraConfig.AllTargetModules"/>.</summary>
    public Projection[] Projections { get; }

    /// <summary>Advances the residual stream x [T, hidden] through the block; fills <paramref name="saved"/>.</summary>
    public void Forward(LayerContext context, Span<float> x, LayerActivations saved, Workspace work)
    {
        ModelConfig config = context.Config;
        int tokens = context.Tokens, hidden = config.HiddenSize;
        float eps = (float)config.RmsNormEps;
        Span<float> normalized = work.Normalized, branch = work.Branch;

        if (saved.KeepsInputs)
            x.CopyTo(saved.Input);
        RmsNorm.Forward(x, InputNorm.Value, normalized, saved.Rstd1, tokens, hidden, eps);
        Projections[Q].Forward(normalized, saved.Q, tokens, context.Adapter, saved.LoraInput(Q));
        Projections[K].Forward(normalized, saved.K, tokens, context.Adapter, saved.LoraInput(K));
        Projections[V].Forward(normalized, saved.V, tokens, context.Adapter, saved.LoraInput(V));
        context.Rope.Forward(saved.Q, context.Batch.Positions, tokens, config.NumAttentionHeads);
        context.Rope.Forward(saved.K, context.Batch.Positions, tokens, config.NumKeyValueHeads);
        CausalAttention.Forward(saved.Q, saved.K, saved.V, context.Batch.SequenceStarts, saved.Attention, saved.LogSumExp,
            config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, config.SlidingWindow);
        Projections[O].Forward(saved.Attention, branch, tokens, context.Adapter, saved.LoraInput(O));
        TensorPrimitives.Add(x, branch, x);

        if (saved.KeepsInputs)
            x.CopyTo(saved.Middle);
        RmsNorm.Forward(x, PostAttentionNorm.Value, normalized, saved.Rstd2, tokens, hidden, eps);
        Projections[Gate].Forward(normalized, saved.Gate, tokens, context.Adapter, saved.LoraInput(Gate));
        Projections[Up].Forward(normalized, saved.Up, tokens, context.Adapter, saved.LoraInput(Up));
        SwiGlu.Forward(saved.Gate, saved.Up, work.Hidden, tokens, config.IntermediateSize);
        Projections[Down].Forward(work.Hidden, branch, tokens, context.Adapter, saved.LoraInput(Down));
        TensorPrimitives.Add(x, branch, x);
    }

    /// <summary>
    /// Takes dL/d(block output) in <paramref name="dx"/> and leaves dL/d(block input) there (unless
    /// <paramref name="needInputGrad"/> is false: the first block under a frozen embedding); parameter gradients +=.
    /// The norms' outputs and the MLP hidden are recomputed from the saved inputs instead of being kept.
    /// </summary>
    public void Backward(LayerContext context, LayerActivations saved, Span<float> dx, Workspace work, bool needInputGrad)
    {
        ModelConfig config = context.Config;
        int tokens = context.Tokens, hidden = config.HiddenSize, ffn = config.IntermediateSize;
        float eps = (float)config.RmsNormEps;
        bool adapter = context.Adapter;
        Span<float> normalized = work.Normalized, dNormalized = work.DNormalized;

        // MLP: dx is dL/d(out); out = middle + down(h)
        RmsNorm.Forward(saved.Middle, PostAttentionNorm.Value, normalized, work.Rstd, tokens, hidden, eps);
        SwiGlu.Forward(saved.Gate, saved.Up, work.Hidden, tokens, ffn);
        Projections[Down].Backward(work.Hidden, dx, work.DHidden, accumulateDx: false, tokens, adapter, saved.LoraInput(Down));
        SwiGlu.Backward(saved.Gate, saved.Up, work.DHidden, work.DGate, work.DUp, tokens, ffn);
        Projections[Gate].Backward(normalized, work.DGate, dNormalized, accumulateDx: false, tokens, adapter, saved.LoraInput(Gate));
        Projections[Up].Backward(normalized, work.DUp, dNormalized, accumulateDx: true, tokens, adapter, saved.LoraInput(Up));
        RmsNorm.Backward(saved.Middle, PostAttentionNorm.Value, saved.Rstd2, dNormalized, dx, PostAttentionNorm.Grad, tokens, hidden, accumulateDx: true);

        // Attention: dx is now dL/d(middle); middle = input + o_proj(attention)
        Projections[O].Backward(saved.Attention, dx, work.DAttention, accumulateDx: false, tokens, adapter, saved.LoraInput(O));
        CausalAttention.Backward(saved.Q, saved.K, saved.V, context.Batch.SequenceStarts, saved.LogSumExp, work.DAttention,
            work.DQ, work.DK, work.DV, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, config.SlidingWindow);
        context.Rope.Backward(work.DQ, context.Batch.Positions, tokens, config.NumAttentionHeads);
        context.Rope.Backward(work.DK, context.Batch.Positions, tokens, config.NumKeyValueHeads);
        RmsNorm.Forward(saved.Input, InputNorm.Value, normalized, work.Rstd, tokens, hidden, eps);
        bool needNormGrad = needInputGrad || InputNorm.Trainable;
        Span<float> dn = needNormGrad ? dNormalized : default;
        Projections[Q].Backward(normalized, work.DQ, dn, accumulateDx: false, tokens, adapter, saved.LoraInput(Q));
        Projections[K].Backward(normalized, work.DK, dn, accumulateDx: true, tokens, adapter, saved.LoraInput(K));
        Projections[V].Backward(normalized, work.DV, dn, accumulateDx: true, tokens, adapter, saved.LoraInput(V));
        if (needNormGrad)
            RmsNorm.Backward(saved.Input, InputNorm.Value, saved.Rstd1, dNormalized, dx, InputNorm.Grad, tokens, hidden, accumulateDx: true);
    }
}

/// <summary>
/// What one block's backward needs from its forward, [T, ...] row-major: the block input and middle residual (to
/// recompute the norms), rstd of both norms, q and k after RoPE, v, the attention logsumexp [T, heads] and output,
/// gate and up (h is recomputed), and s * x A^T [T, r] per LoRA-targeted projection. A forward without backward
/// reuses one instance for every block and skips the two residual copies.
/// </summary>
internal sealed class LayerActivations
{
    public LayerActivations(ModelConfig config, int tokens, int[] loraRanks, bool keepsInputs)
    {
        KeepsInputs = keepsInputs;
        Input = keepsInputs ? new float[tokens * config.HiddenSize] : [];
        Middle = keepsInputs ? new float[tokens * config.HiddenSize] : [];
        Rstd1 = new float[tokens];
        Rstd2 = new float[tokens];
        Q = new float[tokens * config.QueryDim];
        K = new float[tokens * config.KeyValueDim];
        V = new float[tokens * config.KeyValueDim];
        LogSumExp = new float[tokens * config.NumAttentionHeads];
        Attention = new float[tokens * config.QueryDim];
        Gate = new float[tokens * config.IntermediateSize];
        Up = new float[tokens * config.IntermediateSize];
        LoraInputs = loraRanks.Select(rank => rank == 0 ? [] : new float[tokens * rank]).ToArray();
    }

    public bool KeepsInputs { get; }
    public float[] Input { get; }
    public float[] Middle { get; }
    public float[] Rstd1 { get; }
    public float[] Rstd2 { get; }
    public float[] Q { get; }
    public float[] K { get; }
    public float[] V { get; }
    public float[] LogSumExp { get; }
    public float[] Attention { get; }
    public float[] Gate { get; }
    public float[] Up { get; }
    public float[][] LoraInputs { get; }

    public Span<float> LoraInput(int projection) => LoraInputs[projection];
}

/// <summary>Scratch buffers shared by all blocks of one pass ([T, ...] row-major); nothing in them outlives a block.</summary>
internal sealed class Workspace
{
    public Workspace(ModelConfig config, int tokens, bool backward)
    {
        Normalized = new float[tokens * config.HiddenSize];
        Hidden = new float[tokens * config.IntermediateSize];
        if (!backward)
        {
            Branch = new float[tokens * config.HiddenSize];
            return;
        }
        Rstd = new float[tokens];
        DNormalized = new float[tokens * config.HiddenSize];
        DHidden = new float[tokens * config.IntermediateSize];
        DGate = new float[tokens * config.IntermediateSize];
        DUp = new float[tokens * config.IntermediateSize];
        DAttention = new float[tokens * config.QueryDim];
        DQ = new float[tokens * config.QueryDim];
        DK = new float[tokens * config.KeyValueDim];
        DV = new float[tokens * config.KeyValueDim];
    }

    public float[] Normalized { get; }
    /// <summary>Forward only: a block branch's output before it joins the residual stream.</summary>
    public float[] Branch { get; } = [];
    public float[] Hidden { get; }
    public float[] Rstd { get; } = [];
    public float[] DNormalized { get; } = [];
    public float[] DHidden { get; } = [];
    public float[] DGate { get; } = [];
    public float[] DUp { get; } = [];
    public float[] DAttention { get; } = [];
    public float[] DQ { get; } = [];
    public float[] DK { get; } = [];
    public float[] DV { get; } = [];
}
