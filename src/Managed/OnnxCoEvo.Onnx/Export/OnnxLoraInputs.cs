using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Proto;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>One LoRA graph input of an ONNX decoder as the model declares it; -1 marks a symbolic dimension (the rank).</summary>
public sealed record OnnxLoraInput(string Name, TensorElementType Type, long[] Dims)
{
    public bool IsA => Name.EndsWith(LoraASuffix, StringComparison.Ordinal);

    /// <summary>"model.layers.0.self_attn.q_proj": what the A and B inputs of one projection share.</summary>
    public string Module => Name[..^LoraASuffix.Length];

    internal const string LoraASuffix = ".lora_A.weight";
    internal const string LoraBSuffix = ".lora_B.weight";
}

/// <summary>
/// The LoRA inputs a built decoder really has (read from its graph or its session, not assumed from the config), and
/// the check every adapter passes before it is written or loaded: each parameter names one of them, has its element
/// type and fixed dims, all have one rank, and none is left out.
/// </summary>
public static class OnnxLoraInputs
{
    /// <summary>The graph inputs of an .onnx file whose names end in .lora_A.weight / .lora_B.weight.</summary>
    public static IReadOnlyList<OnnxLoraInput> FromModelFile(string onnxPath)
    {
        OnnxModel model = OnnxModel.Load(onnxPath);
        return model.Graph.Input.Where(i => IsLoraName(i.Name)).Select(i =>
        {
            TypeProto.Types.Tensor? tensor = i.Type?.TensorType
                ?? throw new DataFormatException(onnxPath, $"graph input '{i.Name}'", "is not a tensor");
            long[] dims = tensor.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue : -1).ToArray() ?? [];
            return new OnnxLoraInput(i.Name, (TensorElementType)tensor.ElemType, dims);
        }).ToList();
    }

    /// <summary>The LoRA inputs of a session (ORT lists inputs with an initializer default apart, so both lists are read).</summary>
    public static IReadOnlyList<OnnxLoraInput> FromSession(OrtInferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Inputs.Concat(session.OverridableInputs).Where(i => IsLoraName(i.Name))
            .DistinctBy(i => i.Name, StringComparer.Ordinal)
            .Select(i => new OnnxLoraInput(i.Name, i.ElementType, [.. i.Dims])).ToList();
    }

    public static bool IsLoraName(string name) =>
        name.EndsWith(OnnxLoraInput.LoraASuffix, StringComparison.Ordinal) || name.EndsWith(OnnxLoraInput.LoraBSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Refuses an adapter that does not fit the model's LoRA inputs, naming the parameter and what is wrong: an unknown
    /// name, another element type, a fixed dimension that differs, a rank other than the first parameter's, or a LoRA
    /// input it leaves out (all of them share the symbolic "lora_rank", which ONNX Runtime plans as one value per run).
    /// </summary>
    /// <param name="source">The adapter file (or "&lt;memory&gt;"), named in errors.</param>
    /// <param name="model">The model, named in errors.</param>
    /// <exception cref="DataFormatException">The adapter does not fit; names <paramref name="source"/> and the parameter.</exception>
    public static void Check(IReadOnlyList<OnnxAdapterParameter> parameters, IReadOnlyList<OnnxLoraInput> inputs, string source, string model)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
            throw new DataFormatException(source, "parameters", $"{model} has no LoRA inputs (was it built with --no-lora-inputs?); rebuild it with `coevo onnx build`");
        var byName = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        long rank = -1;
        string? rankFrom = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (OnnxAdapterParameter p in parameters)
        {
            string where = $"parameter '{p.Name}'";
            if (!byName.TryGetValue(p.Name, out OnnxLoraInput? input))
                throw new DataFormatException(source, where, $"is not a LoRA input of {model} (its inputs are named like '{inputs[0].Name}')");
            seen.Add(p.Name);
            if (p.Type != input.Type)
                throw new DataFormatException(source, where + " field data_type", $"is {p.Type}; {model} declares the input as {input.Type}");
            bool fits = p.Dims.Length == input.Dims.Length && p.Dims.Length == 2;
            for (int d = 0; fits && d < p.Dims.Length; d++)
                fits = input.Dims[d] < 0 || input.Dims[d] == p.Dims[d];
            if (!fits)
                throw new DataFormatException(source, where + " field dims", $"is [{string.Join(", ", p.Dims)}]; {model} declares {Format(input.Dims)}");
            long own = p.Dims[input.IsA ? 1 : 0];
            if (rankFrom is null)
                (rank, rankFrom) = (own, p.Name);
            else if (own != rank)
                throw new DataFormatException(source, where + " field dims",
                    $"has rank {own}, but '{rankFrom}' has rank {rank}; the LoRA inputs share one rank dimension, so an adapter has one rank (zeros pad the smaller factors)");
        }
        if (inputs.FirstOrDefault(i => !seen.Contains(i.Name)) is { } missing)
            throw new DataFormatException(source, $"parameter '{missing.Name}'",
                $"is missing; the LoRA inputs of {model} share one rank dimension, so an adapter gives every one of them (zero factors where it has none), or ONNX Runtime mixes its rank with the rank-0 defaults");
    }

    private static string Format(long[] dims) => "[" + string.Join(", ", dims.Select(d => d < 0 ? "rank" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}
