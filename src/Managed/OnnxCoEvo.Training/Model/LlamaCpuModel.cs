using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Training.Cpu;
using OnnxCoEvo.Training.Data;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Model;

/// <summary>
/// A Llama-family decoder (HF LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) on the fp32 CPU reference ops,
/// with forward and backward over packed batches and an optional LoRA adapter on any of the seven projections:
///   x = embed_tokens[ids];  per block: x += attention branch, x += MLP branch (see <see cref="LlamaLayer"/>);
///   logits = norm(x) W_head^T with W_head = lm_head, or embed_tokens when tied.
/// The loss-facing output is per-token log-probabilities of the targets (<see cref="TokenLogProbs"/>): every loss in
/// this toolkit (SFT, DPO, policy gradients) is a function of them, so Backward takes dL/dlogp.
/// Gradients are added only to trainable parameters: LoRA training freezes the base set, full fine-tuning marks every
/// base parameter trainable and passes no LoRA config. Not thread-safe: one pass at a time.
/// </summary>
public sealed class LlamaCpuModel
{
    private readonly LlamaLayer[] _layers;
    private readonly Parameter _embedding;
    private readonly Parameter _finalNorm;
    private readonly Parameter _head;
    private RopeTable? _rope;

    /// <exception cref="ArgumentException">The config or LoRA config is invalid, or a parameter is missing, misshapen or
    /// unexpected (LoRA factors must be present exactly when <paramref name="lora"/> is given).</exception>
    public LlamaCpuModel(ModelConfig config, ParameterSet parameters, LoraConfig? lora)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(parameters);
        config.Validate();
        lora?.Validate();
        if (config.HeadDim % 2 != 0)
            throw new ArgumentException($"head_dim {config.HeadDim} is odd; RoPE rotates pairs of dimensions");
        LlamaParameterLayout.Validate(config, parameters, lora);
        Config = config;
        Parameters = parameters;
        Lora = lora;

        _embedding = parameters["model.embed_tokens.weight"];
        _finalNorm = parameters["model.norm.weight"];
        _head = config.TieWordEmbeddings ? _embedding : parameters["lm_head.weight"];
        _layers = new LlamaLayer[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
        {
            var projections = LoraConfig.AllTargetModules.Select(module => BindProjection(i, module)).ToArray();
            _layers[i] = new LlamaLayer(parameters[$"model.layers.{i}.input_layernorm.weight"],
                parameters[$"model.layers.{i}.post_attention_layernorm.weight"], projections);
        }
    }

    private Projection BindProjection(int layer, string module)
    {
        string path = LoraConfig.ModulePath(layer, module);
        Parameters.TryGet(path + ".bias", out Parameter? bias);
        bool adapted = Lora is not null && Lora.Targets(module);
        return new Projection(Parameters[path + ".weight"], bias,
            adapted ? Parameters[LoraConfig.LoraAName(path)] : null,
            adapted ? Parameters[LoraConfig.LoraBName(path)] : null,
            Lora?.Scaling ?? 0f);
    }

    public ModelConfig Config { get; }

    public ParameterSet Parameters { get; }

    public LoraConfig? Lora { get; }

    /// <summary>False: the LoRA terms are skipped and the model is its base policy (e.g. DPO's reference).</summary>
    public bool AdapterEnabled { get; set; } = true;

    /// <summary>
    /// Reads model.safetensors (or the shards of model.safetensors.index.json) into fp32 parameters named and shaped
    /// as <paramref name="config"/>.TensorLayout(); F16 and BF16 are widened. With tied embeddings there is no lm_head.
    /// </summary>
    /// <exception cref="OnnxCoEvo.Core.DataFormatException">A tensor is missing or has the wrong shape or dtype; names file and tensor.</exception>
    public static ParameterSet LoadBaseParameters(string modelDirectory, ModelConfig config, bool trainable) =>
        LlamaParameterLayout.Load(modelDirectory, config, trainable);

    /// <summary>
    /// Adds trainable LoRA factors for every targeted module of every layer: A [r, in] Kaiming-uniform (bound
    /// 1/sqrt(in)) from a xoshiro256** stream seeded by (seed, name), B [out, r] zeros.
    /// </summary>
    public static void AddLoraParameters(ParameterSet parameters, ModelConfig config, LoraConfig lora, ulong seed) =>
        LlamaParameterLayout.AddLora(parameters, config, lora, seed);

    /// <summary>Runs the model; keepActivations keeps what <see cref="Backward"/> needs (about T x (2 hidden + 2 q_dim
    /// + 2 kv_dim + 2 intermediate) floats per layer).</summary>
    public LlamaForwardPass Forward(PackedBatch batch, bool keepActivations)
    {
        ArgumentNullException.ThrowIfNull(batch);
        LayerContext context = Context(batch);
        int tokens = batch.TokenCount, hidden = Config.HiddenSize;
        LayerActivations[]? kept = keepActivations ? new LayerActivations[_layers.Length] : null;
        float[] x = Decode(context, kept);

        var finalRstd = new float[tokens];
        var normalized = new float[tokens * hidden];
        RmsNorm.Forward(x, _finalNorm.Value, normalized, finalRstd, tokens, hidden, (float)Config.RmsNormEps);
        var logProbs = new float[tokens];
        var logSumExp = new float[tokens];
        Cpu.TokenLogProbs.Forward(normalized, _head.Value, batch.TargetIds, batch.LossMask, logProbs, logSumExp, tokens, hidden, Config.VocabSize);
        return new LlamaForwardPass(this, batch, context.Adapter, logProbs, logSumExp, kept,
            keepActivations ? x : null, keepActivations ? finalRstd : null);
    }

    /// <summary>
    /// Adds dL/dparameter into the Grad of every trainable parameter, given dL/dTokenLogProbs [T] (entries at unscored
    /// tokens are ignored). Follows the adapter setting the forward ran with.
    /// </summary>
    public void Backward(LlamaForwardPass pass, ReadOnlySpan<float> dTokenLogProbs)
    {
        ArgumentNullException.ThrowIfNull(pass);
        if (!ReferenceEquals(pass.Model, this))
            throw new ArgumentException("the forward pass was made by another model", nameof(pass));
        if (pass.Layers is null || pass.FinalInput is null || pass.FinalRstd is null)
            throw new InvalidOperationException("the forward pass was made with keepActivations = false; it cannot be back-propagated");
        PackedBatch batch = pass.Batch;
        int tokens = batch.TokenCount, hidden = Config.HiddenSize;
        if (dTokenLogProbs.Length != tokens)
            throw new ArgumentException($"dTokenLogProbs has {dTokenLogProbs.Length} entries for {tokens} tokens", nameof(dTokenLogProbs));
        LayerContext context = Context(batch) with { Adapter = pass.AdapterApplied };
        var work = new Workspace(Config, tokens, backward: true);

        // Head and final norm: dx = dL/d(residual stream after the last block).
        var dx = new float[tokens * hidden];
        float eps = (float)Config.RmsNormEps;
        RmsNorm.Forward(pass.FinalInput, _finalNorm.Value, work.Normalized, work.Rstd, tokens, hidden, eps);
        Cpu.TokenLogProbs.Backward(work.Normalized, _head.Value, batch.TargetIds, batch.LossMask, pass.HeadLogSumExp, dTokenLogProbs,
            work.DNormalized, _head.Grad, tokens, hidden, Config.VocabSize);
        RmsNorm.Backward(pass.FinalInput, _finalNorm.Value, pass.FinalRstd, work.DNormalized, dx, _finalNorm.Grad, tokens, hidden);

        for (int i = _layers.Length - 1; i >= 0; i--)
            _layers[i].Backward(context, pass.Layers[i], dx, work, needInputGrad: i > 0 || _embedding.Trainable);
        if (_embedding.Trainable)
            Embedding.Backward(batch.TokenIds, dx, _embedding.Grad, Config.VocabSize, hidden);
    }

    /// <summary>Full logits [T, vocab] row-major (for parity checks and inference); the adapter applies when enabled.</summary>
    public float[] Logits(PackedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        LayerContext context = Context(batch);
        int tokens = batch.TokenCount, hidden = Config.HiddenSize;
        float[] x = Decode(context, kept: null);
        var normalized = new float[tokens * hidden];
        RmsNorm.Forward(x, _finalNorm.Value, normalized, new float[tokens], tokens, hidden, (float)Config.RmsNormEps);
        var logits = new float[(long)tokens * Config.VocabSize];
        Linear.Forward(normalized, _head.Value, default, logits, tokens, hidden, Config.VocabSize);
        return logits;
    }

    private LayerContext Context(PackedBatch batch)
    {
        int maxPosition = 0;
        foreach (int position in batch.Positions)
        {
            if (position < 0)
                throw new ArgumentException($"position {position} is negative", nameof(batch));
            maxPosition = Math.Max(maxPosition, position);
        }
        // Table rows do not depend on the table's length, so growing it never changes results.
        if (_rope is null || _rope.PositionCount <= maxPosition)
            _rope = new RopeTable(Config.HeadDim, Config.RopeTheta, Config.RopeScaling, Math.Max(maxPosition + 1, Math.Max(256, 2 * (_rope?.PositionCount ?? 0))));
        return new LayerContext(Config, batch, _rope, Adapter: AdapterEnabled && Lora is not null);
    }

    /// <summary>Embedding then every block; returns the residual stream [T, hidden] entering the final norm.</summary>
    private float[] Decode(LayerContext context, LayerActivations[]? kept)
    {
        PackedBatch batch = context.Batch;
        int tokens = batch.TokenCount;
        var x = new float[tokens * Config.HiddenSize];
        Embedding.Forward(batch.TokenIds, _embedding.Value, x, Config.VocabSize, Config.HiddenSize);
        var work = new Workspace(Config, tokens, backward: false);
        LayerActivations? shared = null;
        for (int i = 0; i < _layers.Length; i++)
        {
            int[] loraRanks = _layers[i].Projections.Select(p => context.Adapter ? p.LoraRank : 0).ToArray();
            LayerActivations saved = kept is not null
                ? kept[i] = new LayerActivations(Config, tokens, loraRanks, keepsInputs: true)
                : shared ??= new LayerActivations(Config, tokens, loraRanks, keepsInputs: false);
            _layers[i].Forward(context, x, saved, work);
        }
        return x;
    }
}
