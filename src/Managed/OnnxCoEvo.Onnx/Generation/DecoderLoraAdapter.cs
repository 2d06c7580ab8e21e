using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// A LoRA adapter ready to feed the ONNX decoder's per-module LoRA inputs
/// (<c>model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight</c> [in, r] and <c>...lora_B.weight</c> [r, out]):
/// either an ORT adapter file (.onnx_adapter, activated through the run options) or a PEFT folder converted in
/// memory (A transposed; B transposed and multiplied by the LoRA scaling) and fed as named inputs.
/// </summary>
public sealed class DecoderLoraAdapter : IDisposable
{
    private readonly OrtValue[] _values;

    private DecoderLoraAdapter(string source, OrtLoraAdapter? file, IReadOnlyList<string> names, OrtValue[] values)
    {
        Source = source;
        OrtAdapter = file;
        InputNames = names;
        _values = values;
    }

    /// <summary>The file or folder it came from.</summary>
    public string Source { get; }

    /// <summary>The ORT adapter of an .onnx_adapter file (null for a converted PEFT folder).</summary>
    internal OrtLoraAdapter? OrtAdapter { get; }

    /// <summary>Graph inputs fed directly (a converted PEFT folder; empty for an .onnx_adapter file).</summary>
    internal IReadOnlyList<string> InputNames { get; }

    internal IReadOnlyList<OrtValue> InputValues => _values;

    /// <summary>An ORT adapter file (memory-mapped by ORT).</summary>
    public static DecoderLoraAdapter OpenFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no ONNX adapter file '{path}'", path);
        return new DecoderLoraAdapter(path, OrtLoraAdapter.Open(path), [], []);
    }

    /// <summary>A PEFT adapter as decoder inputs: A^T [in, r] and scaling * B^T [r, out] per module.</summary>
    public static DecoderLoraAdapter FromPeft(PeftAdapter adapter, string source = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(adapter);
        float scaling = adapter.Config.Scaling;
        var names = new List<string>(adapter.Tensors.Count);
        var values = new List<OrtValue>(adapter.Tensors.Count);
        try
        {
            foreach (NamedTensor tensor in adapter.Tensors)
            {
                bool isA = tensor.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal);
                (int rows, int columns) = (tensor.Shape[0], tensor.Shape[1]);
                float[] transposed = Transpose(tensor.Values, rows, columns, isA ? 1f : scaling);
                names.Add(tensor.Name);
                values.Add(OrtValue.FromMemory(transposed.AsMemory(), [columns, rows]));
            }
        }
        catch
        {
            foreach (OrtValue value in values) value.Dispose();
            throw;
        }
        return new DecoderLoraAdapter(source, null, names, [.. values]);
    }

    /// <summary>
    /// A PEFT folder (adapter_config.json inside; needs the model's config for the factor shapes) or an .onnx_adapter file.
    /// </summary>
    public static DecoderLoraAdapter Load(string path, Func<ModelConfig> modelConfig)
    {
        ArgumentNullException.ThrowIfNull(modelConfig);
        if (Directory.Exists(path))
        {
            if (!File.Exists(Path.Combine(path, PeftAdapter.ConfigFileName)))
                throw new FileNotFoundException($"adapter folder '{path}' has no {PeftAdapter.ConfigFileName} (expected a PEFT LoRA folder)");
            return FromPeft(PeftAdapter.Load(path, modelConfig()), path);
        }
        return OpenFile(path);
    }

    /// <summary>[rows, columns] row-major to [columns, rows], times <paramref name="scale"/>.</summary>
    internal static float[] Transpose(float[] values, int rows, int columns, float scale)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = values[r * columns + c] * scale;
        return result;
    }

    public void Dispose()
    {
        foreach (OrtValue value in _values) value.Dispose();
        OrtAdapter?.Dispose();
    }
}
