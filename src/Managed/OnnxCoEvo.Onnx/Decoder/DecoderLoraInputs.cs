using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>One LoRA graph input of a built decoder: the A or B factor of one projection of one layer.</summary>
/// <param name="Name">The graph input name, e.g. "model.layers.0.self_attn.q_proj.lora_A.weight".</param>
/// <param name="InFeatures">The projection's input width (rows of lora_A).</param>
/// <param name="OutFeatures">The projection's output width (columns of lora_B).</param>
public sealed record DecoderLoraInput(string Name, int Layer, string Module, bool IsA, int InFeatures, int OutFeatures)
{
    /// <summary>The input's dims for a given rank: A is [in, rank], B is [rank, out].</summary>
    public long[] Dims(int rank) => IsA ? [InFeatures, rank] : [rank, OutFeatures];
}

/// <summary>
/// The LoRA inputs of a built decoder and the one mapping from a PEFT adapter to them, shared by the builder, the
/// generator and the adapter export.
/// <para>
/// For every layer i and each of the seven projections (q_proj, k_proj, v_proj, o_proj under "self_attn";
/// gate_proj, up_proj, down_proj under "mlp") the graph has two float32 inputs, each with a rank-0 initializer default
/// (no adapter = no change):
/// <c>model.layers.{i}.self_attn.q_proj.lora_A.weight</c> [in_features, "lora_rank"] and
/// <c>model.layers.{i}.self_attn.q_proj.lora_B.weight</c> ["lora_rank", out_features] (likewise
/// <c>model.layers.{i}.mlp.gate_proj.lora_A.weight</c> ...). The graph adds <c>y += (x @ lora_A) @ lora_B</c> to the
/// projection's output.
/// </para>
/// <para>
/// From PEFT (A [r, in], B [out, r], y += s (x A^T) B^T with s = alpha / r, or alpha / sqrt(r) with rsLoRA):
/// lora_A input = A^T [in, r]; lora_B input = s B^T [r, out]. Modules the adapter does not target get rank-0 tensors
/// ([in, 0] and [0, out]) so one feed covers every input.
/// </para>
/// </summary>
public static class DecoderLoraInputs
{
    /// <summary>The symbolic dimension shared by every LoRA input.</summary>
    public const string RankDim = "lora_rank";

    /// <summary>Every LoRA input of the decoder built for <paramref name="config"/>: layer by layer, modules in
    /// <see cref="LoraConfig.AllTargetModules"/> order, A then B.</summary>
    public static IReadOnlyList<DecoderLoraInput> Inputs(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var shapes = config.TensorLayout().ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        var inputs = new List<DecoderLoraInput>(config.NumHiddenLayers * LoraConfig.AllTargetModules.Count * 2);
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            foreach (string module in LoraConfig.AllTargetModules)
            {
                string path = LoraConfig.ModulePath(layer, module);
                long[] weight = shapes[path + ".weight"]; // [out, in]
                int inFeatures = checked((int)weight[1]), outFeatures = checked((int)weight[0]);
                inputs.Add(new DecoderLoraInput(LoraConfig.LoraAName(path), layer, module, IsA: true, inFeatures, outFeatures));
                inputs.Add(new DecoderLoraInput(LoraConfig.LoraBName(path), layer, module, IsA: false, inFeatures, outFeatures));
            }
        }
        return inputs;
    }

    /// <summary>The names of <see cref="Inputs"/>.</summary>
    public static IReadOnlyList<string> Names(ModelConfig config) => Inputs(config).Select(i => i.Name).ToList();

    /// <summary>The tensors to feed for a PEFT adapter (every input of <see cref="Inputs"/>, in that order).</summary>
    public static IReadOnlyList<NamedTensor> FromPeft(PeftAdapter adapter, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        return FromFactors(adapter.Tensors, adapter.Config, config);
    }

    /// <summary>
    /// <see cref="FromPeft"/> with every input at the adapter's rank: projections the adapter does not target get zero
    /// factors ([in, r] and [r, out]) instead of rank 0. All LoRA inputs share the symbolic dimension
    /// <see cref="RankDim"/>, and ONNX Runtime plans buffers as if it had one value per run: rank-r feeds beside rank-0
    /// ones can fail with "Shape mismatch attempting to re-use buffer". What adapter files and runs feed.
    /// </summary>
    public static IReadOnlyList<NamedTensor> FromPeftAtOneRank(PeftAdapter adapter, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        int rank = adapter.Config.Rank;
        return FromPeft(adapter, config).Select(t => t.Values.Length > 0 ? t
            : t.Shape[0] == 0 ? new NamedTensor(t.Name, [rank, t.Shape[1]], new float[rank * t.Shape[1]])
            : new NamedTensor(t.Name, [t.Shape[0], rank], new float[t.Shape[0] * rank])).ToList();
    }

    /// <summary>
    /// The tensors to feed for LoRA factors under this toolkit's names (A [r, in], B [out, r], as
    /// <see cref="LoraConfig.FactorLayout"/> lists them): A^T and scaling x B^T for targeted modules, rank 0 elsewhere.
    /// </summary>
    /// <exception cref="ArgumentException">A targeted module's factor is missing or has the wrong shape.</exception>
    public static IReadOnlyList<NamedTensor> FromFactors(IEnumerable<NamedTensor> factors, LoraConfig lora, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(factors);
        ArgumentNullException.ThrowIfNull(lora);
        lora.Validate();
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (NamedTensor factor in factors)
            if (!byName.TryAdd(factor.Name, factor))
                throw new ArgumentException($"LoRA factor '{factor.Name}' is given twice", nameof(factors));
        int rank = lora.Rank;
        float scaling = lora.Scaling;
        var result = new List<NamedTensor>();
        foreach (DecoderLoraInput input in Inputs(config))
        {
            if (!lora.Targets(input.Module))
            {
                result.Add(new NamedTensor(input.Name, input.IsA ? [input.InFeatures, 0] : [0, input.OutFeatures], []));
                continue;
            }
            int[] peftShape = input.IsA ? [rank, input.InFeatures] : [input.OutFeatures, rank];
            if (!byName.TryGetValue(input.Name, out NamedTensor? factor))
                throw new ArgumentException($"LoRA factor '{input.Name}' {TensorShape.Format(peftShape)} is missing; the adapter targets {input.Module}", nameof(factors));
            if (!factor.Shape.AsSpan().SequenceEqual(peftShape))
                throw new ArgumentException($"LoRA factor '{input.Name}' has shape {TensorShape.Format(factor.Shape)}; rank {rank} on this model needs {TensorShape.Format(peftShape)}", nameof(factors));
            // [rows, cols] -> [cols, rows]; B also takes the scaling so the graph needs no multiply.
            var transposed = new float[factor.Values.Length];
            DecoderWeights.Transpose(factor.Values, transposed, peftShape[0], peftShape[1], input.IsA ? 1f : scaling);
            result.Add(new NamedTensor(input.Name, [peftShape[1], peftShape[0]], transposed));
        }
        return result;
    }
}
