using System.Runtime.InteropServices;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// A LoRA adapter ready to feed the ONNX decoder's per-module LoRA inputs
/// (<c>model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight</c> [in, r] and <c>...lora_B.weight</c> [r, out]):
/// either an ORT adapter file (.onnx_adapter, activated through the run options) or a PEFT folder converted in
/// memory (A transposed; B transposed and multiplied by the LoRA scaling) and fed as named inputs.
/// The decoder does not own it: keep it alive while it is active.
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

    /// <summary>The adapter's graph inputs by name, for runs that feed them directly.</summary>
    internal IReadOnlyList<string> InputNames { get; }

    internal IReadOnlyList<OrtValue> InputValues => _values;

    /// <summary>
    /// An ORT adapter file: ORT memory-maps it for runs with run options; its parameters are also read as named inputs
    /// because RunWithBinding ignores the run options' active adapters (observed on ORT 1.30), and the shared-KV decoder
    /// runs with a binding.
    /// </summary>
    public static DecoderLoraAdapter OpenFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no ONNX adapter file '{path}'", path);
        var names = new List<string>();
        var values = new List<OrtValue>();
        foreach (OnnxAdapterParameter parameter in OnnxAdapterFile.Read(path))
        {
            if (parameter.Type != TensorElementType.Float)
                throw new DataFormatException(path, $"parameter '{parameter.Name}'", $"is {parameter.Type}; the CPU decoder's LoRA inputs are float32");
            names.Add(parameter.Name);
            values.Add(OrtValue.FromMemory(MemoryMarshal.Cast<byte, float>(parameter.Data.Span).ToArray().AsMemory(), parameter.Dims));
        }
        OrtLoraAdapter? adapter = null;
        try
        {
            adapter = OrtLoraAdapter.Open(path);
            return new DecoderLoraAdapter(path, adapter, names, [.. values]);
        }
        catch
        {
            adapter?.Dispose();
            foreach (OrtValue value in values) value.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A PEFT adapter as decoder inputs (<see cref="DecoderLoraInputs.FromPeftAtOneRank"/>: A^T [in, r], scaling x B^T [r, out];
    /// zero factors of rank r for modules it does not target, since ORT wants one rank for all LoRA inputs in a run).
    /// </summary>
    public static DecoderLoraAdapter FromPeft(PeftAdapter adapter, ModelConfig model, string source = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (NamedTensor input in DecoderLoraInputs.FromPeftAtOneRank(adapter, model))
            {
                names.Add(input.Name);
                values.Add(OrtValue.FromMemory(input.Values.AsMemory(), input.LongShape));
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
            ModelConfig model = modelConfig();
            return FromPeft(PeftAdapter.Load(path, model), model, path);
        }
        return OpenFile(path);
    }

    public void Dispose()
    {
        foreach (OrtValue value in _values) value.Dispose();
        OrtAdapter?.Dispose();
    }
}
