using System.Numerics.Tensors;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>Element type of a merged model's weights, activations, KV cache and logits.</summary>
public enum MergedPrecision
{
    Float32,

    /// <summary>Every float tensor of the graph in float16 (weights, KV cache, logits), as GenAI's fp16 models are.</summary>
    Float16,
}

public sealed record MergedExportOptions
{
    public MergedPrecision Precision { get; init; } = MergedPrecision.Float32;

    public DecoderAttention Attention { get; init; } = DecoderAttention.Auto;

    /// <summary>Keep the LoRA graph inputs (rank-0 defaults) so further adapters can be stacked on the merged weights.</summary>
    public bool LoraInputs { get; init; }

    /// <summary>Replace an existing export in the output folder (one with genai_config.json, or an empty folder).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>
/// The base model with a LoRA adapter merged into its weights (W' = W + s B A for every targeted projection, fp32 sums)
/// as a standalone ONNX Runtime GenAI folder: model.onnx + model.onnx.data, genai_config.json, tokenizer files. The
/// folder is built in a staging sibling and renamed into place whole.
/// </summary>
public static class MergedModelExport
{
    public static OnnxDecoderExportResult Export(string modelDirectory, PeftAdapter adapter, string outputDirectory, MergedExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new MergedExportOptions();
        string target = Path.GetFullPath(outputDirectory);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            if (!options.Overwrite)
                throw new IOException($"{target} already exists; pass --force to replace the export in it");
            if (!File.Exists(Path.Combine(target, GenAiConfig.FileName)))
                throw new IOException($"{target} holds files but no {GenAiConfig.FileName}; it is not replaced");
        }
        ModelConfig config = ModelConfig.Load(Path.Combine(modelDirectory, ModelConfig.FileName));
        adapter.Config.FactorLayout(config); // validates the rank and targets against the model before any work

        string staging = AtomicDirectory.CreateStaging(target);
        try
        {
            OnnxDecoderExportResult built = OnnxDecoderExport.Export(modelDirectory, staging,
                new OnnxDecoderOptions { Attention = options.Attention, LoraInputs = options.LoraInputs },
                weights: read => new MergedDecoderWeights(read, adapter, config),
                transform: options.Precision == MergedPrecision.Float16 ? Float16Graph.Convert : null);
            AtomicDirectory.Replace(staging, target);
            string Moved(string path) => Path.Combine(target, Path.GetFileName(path));
            return built with
            {
                OutputDirectory = target,
                ModelPath = Moved(built.ModelPath),
                DataPath = built.DataPath is null ? null : Moved(built.DataPath),
                GenAiConfigPath = Moved(built.GenAiConfigPath),
            };
        }
        catch
        {
            AtomicDirectory.DeleteQuietly(staging);
            throw;
        }
    }
}

/// <summary>
/// Base weights with a LoRA adapter folded in: reading a targeted projection's weight [out, in] returns
/// W + s B A, where A is [r, in], B is [out, r] and s the adapter's scaling; every other tensor passes through.
/// </summary>
public sealed class MergedDecoderWeights : DecoderWeights
{
    private readonly DecoderWeights _base;
    private readonly float _scaling;
    private readonly Dictionary<string, (NamedTensor A, NamedTensor B)> _deltas = new(StringComparer.Ordinal);

    /// <param name="baseWeights">Owned: disposed with this object.</param>
    public MergedDecoderWeights(DecoderWeights baseWeights, PeftAdapter adapter, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(baseWeights);
        ArgumentNullException.ThrowIfNull(adapter);
        _base = baseWeights;
        _scaling = adapter.Config.Scaling;
        var factors = adapter.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (DecoderLoraInput input in DecoderLoraInputs.Inputs(config).Where(i => i.IsA && adapter.Config.Targets(i.Module)))
        {
            string path = LoraConfig.ModulePath(input.Layer, input.Module);
            if (!factors.TryGetValue(LoraConfig.LoraAName(path), out NamedTensor? a) || !factors.TryGetValue(LoraConfig.LoraBName(path), out NamedTensor? b))
                throw new ArgumentException($"the adapter targets {input.Module} but lacks a factor of {path}", nameof(adapter));
            int rank = adapter.Config.Rank;
            if (!a.Shape.SequenceEqual([rank, input.InFeatures]) || !b.Shape.SequenceEqual([input.OutFeatures, rank]))
                throw new ArgumentException($"LoRA factors of {path} are {a} and {b}; the model needs [{rank}, {input.InFeatures}] and [{input.OutFeatures}, {rank}]", nameof(adapter));
            _deltas[path + ".weight"] = (a, b);
        }
    }

    public override void CheckLayout(ModelConfig config) => _base.CheckLayout(config);

    public override void CopyTo(string name, IReadOnlyList<long> shape, Span<float> destination)
    {
        _base.CopyTo(name, shape, destination);
        if (!_deltas.TryGetValue(name, out var factors))
            return;
        // W[o, :] += sum_k (s B[o, k]) A[k, :]: rank-many row updates per output row.
        (NamedTensor a, NamedTensor b) = factors;
        int rank = a.Shape[0], inFeatures = a.Shape[1], outFeatures = b.Shape[0];
        for (int o = 0; o < outFeatures; o++)
        {
            Span<float> row = destination.Slice(o * inFeatures, inFeatures);
            for (int k = 0; k < rank; k++)
                TensorPrimitives.MultiplyAdd(a.Values.AsSpan(k * inFeatures, inFeatures), _scaling * b.Values[o * rank + k], row, row);
        }
    }

    public override void Dispose()
    {
        _base.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// A built fp32 decoder turned into a float16 one: every float initializer, graph input and graph output becomes
/// float16 (values beyond float16's range, such as the attention mask's float.MinValue, saturate to +-65504 rather than
/// becoming infinite, so a fully masked row cannot turn into NaN). Attributes (epsilons) stay float, as ONNX wants.
/// </summary>
public static class Float16Graph
{
    public static OnnxModel Convert(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph.Initializer.Count > 0)
            throw new ArgumentException("convert a freshly built model (its initializers not yet placed in the proto)", nameof(model));
        Proto.ModelProto proto = model.Proto.Clone();
        foreach (Proto.ValueInfoProto value in proto.Graph.Input.Concat(proto.Graph.Output).Concat(proto.Graph.ValueInfo))
            if (value.Type?.TensorType is { ElemType: (int)TensorElementType.Float } tensor)
                tensor.ElemType = (int)TensorElementType.Float16;
        foreach (Proto.NodeProto node in proto.Graph.Node)
            if (node.OpType == "Cast" && node.Attribute.FirstOrDefault(a => a.Name == "to") is { I: (long)TensorElementType.Float } to)
                to.I = (long)TensorElementType.Float16;
        var initializers = model.Initializers.Select(i => model.ReadInitializer(i.Name)).Select(t => t.Type == TensorElementType.Float ? ToHalf(t) : t).ToList();
        return new OnnxModel(proto, initializers);
    }

    private static OnnxTensor ToHalf(OnnxTensor tensor)
    {
        ReadOnlySpan<float> values = tensor.As<float>();
        var bytes = new byte[values.Length * sizeof(ushort)];
        Span<Half> halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
        for (int i = 0; i < values.Length; i++)
            halves[i] = (Half)Math.Clamp(values[i], -65504f, 65504f);
        return tensor with { Type = TensorElementType.Float16, Data = bytes };
    }
}
