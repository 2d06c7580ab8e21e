using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>What an adapter export wrote.</summary>
public sealed record AdapterExportResult(string Path, int Parameters, TensorElementType ElementType, long Bytes);

/// <summary>
/// Tuned adapters as files a runtime loads: ONNX Runtime's .onnx_adapter for a decoder built by `coevo onnx build`
/// (parameter names, dims and element type taken from that model's LoRA inputs), and the PEFT folder.
/// </summary>
public static class AdapterExport
{
    /// <summary>
    /// The .onnx_adapter parameters of <paramref name="adapter"/> for a model whose LoRA inputs are <paramref name="inputs"/>:
    /// A^T [in, r] and scaling x B^T [r, out] for every targeted projection, zeros of rank r for the others
    /// (<see cref="DecoderLoraInputs.FromPeftAtOneRank"/>: ORT wants one rank for all LoRA inputs of a run), encoded in
    /// the element type the model declares (float32, float16 or bfloat16), checked against those inputs.
    /// </summary>
    public static IReadOnlyList<OnnxAdapterParameter> Parameters(PeftAdapter adapter, ModelConfig config, IReadOnlyList<OnnxLoraInput> inputs, string model)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(inputs);
        var types = inputs.ToDictionary(i => i.Name, i => i.Type, StringComparer.Ordinal);
        var parameters = new List<OnnxAdapterParameter>();
        foreach (NamedTensor tensor in DecoderLoraInputs.FromPeftAtOneRank(adapter, config))
        {
            TensorElementType type = types.GetValueOrDefault(tensor.Name, TensorElementType.Float);
            parameters.Add(new OnnxAdapterParameter(tensor.Name, type, tensor.LongShape, Encode(tensor.Values, type, tensor.Name)));
        }
        OnnxLoraInputs.Check(parameters, inputs, "<adapter>", model);
        return parameters;
    }

    /// <summary>
    /// Writes <paramref name="outputPath"/> (atomically) for the decoder in <paramref name="onnxDirectory"/> (a folder with
    /// genai_config.json, or a model directory with onnx/ inside).
    /// </summary>
    public static AdapterExportResult WriteOnnxAdapter(PeftAdapter adapter, ModelConfig config, string onnxDirectory, string outputPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        string folder = OrtDecoderModel.ResolveDirectory(onnxDirectory);
        string modelFile = Path.Combine(folder, GenAiDecoderConfig.Load(folder).DecoderFile);
        IReadOnlyList<OnnxAdapterParameter> parameters = Parameters(adapter, config, OnnxLoraInputs.FromModelFile(modelFile), modelFile);
        string path = Path.GetFullPath(outputPath);
        if (Path.GetDirectoryName(path) is { } parent)
            Directory.CreateDirectory(parent);
        OnnxAdapterFile.Save(path, parameters);
        return new AdapterExportResult(path, parameters.Count, parameters.Count > 0 ? parameters[0].Type : TensorElementType.Float, new FileInfo(path).Length);
    }

    /// <summary>Writes the PEFT folder whole (staged, then renamed into place); an existing adapter folder is replaced only with <paramref name="overwrite"/>.</summary>
    public static AdapterExportResult WritePeft(PeftAdapter adapter, string outputDirectory, string? baseModel, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        string path = Path.GetFullPath(outputDirectory);
        (adapter with { BaseModelNameOrPath = adapter.BaseModelNameOrPath ?? baseModel }).Save(path, overwrite);
        return new AdapterExportResult(path, adapter.Tensors.Count, TensorElementType.Float,
            Directory.EnumerateFiles(path).Sum(f => new FileInfo(f).Length));
    }

    /// <summary>fp32 values as little-endian bytes of <paramref name="type"/> (float32, float16 or bfloat16, round to nearest even).</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, TensorElementType type, string name)
    {
        TensorDType dtype = FloatDType(type)
            ?? throw new NotSupportedException($"LoRA input '{name}' is {type}; adapters are written as float32, float16 or bfloat16");
        var bytes = new byte[values.Length * type.SizeInBytes()];
        FloatConversions.EncodeFloat32(values, dtype, bytes);
        return bytes;
    }

    /// <summary>Bytes of float32, float16 or bfloat16 elements widened to fp32.</summary>
    public static float[] Decode(ReadOnlySpan<byte> bytes, TensorElementType type)
    {
        TensorDType dtype = FloatDType(type) ?? throw new NotSupportedException($"{type} is not a floating-point type this export reads");
        var values = new float[bytes.Length / type.SizeInBytes()];
        FloatConversions.DecodeToFloat32(bytes, dtype, values);
        return values;
    }

    /// <summary>The safetensors dtype of an ONNX float element type (float32, float16, bfloat16); null for any other.</summary>
    private static TensorDType? FloatDType(TensorElementType type) => type switch
    {
        TensorElementType.Float => TensorDType.F32,
        TensorElementType.Float16 => TensorDType.F16,
        TensorElementType.BFloat16 => TensorDType.BF16,
        _ => null,
    };
}
