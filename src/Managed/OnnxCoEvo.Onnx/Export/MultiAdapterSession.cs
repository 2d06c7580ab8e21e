using System.Runtime.InteropServices;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Export;

/// <summary>
/// One ONNX Runtime session of a base decoder with several .onnx_adapter files loaded at once, the adapter chosen per
/// run: each loaded adapter has its own run options with only that adapter active, so the target and the failure agent
/// of a co-evolving run (or any number of tuned variants) share one copy of the base weights.
/// <para>Every adapter is checked against the session's LoRA inputs when it is loaded (names, element type, dims, A/B
/// pairs), so a wrong file fails at load naming the parameter instead of at the first run. A run feeds the whole
/// sequence with an empty past (input_ids [1, T], all-ones mask) and returns the logits of every position, in the
/// model's own element type (float32 or float16) widened to fp32; serving with a KV cache goes through
/// <see cref="OrtDecoderModel"/>, whose adapters are switched between calls instead.</para>
/// Not thread-safe.
/// </summary>
public sealed class MultiAdapterSession : IDisposable
{
    private readonly OrtInferenceSession _session;
    private readonly Dictionary<string, LoadedAdapter> _adapters = new(StringComparer.Ordinal);
    private readonly TensorElementType _idsType, _maskType, _pastType;
    private readonly string? _positionIds;

    private sealed record LoadedAdapter(string Source, OrtLoraAdapter Adapter, OrtRunOptions Options, int Parameters) : IDisposable
    {
        public void Dispose()
        {
            Options.Dispose();
            Adapter.Dispose();
        }
    }

    private MultiAdapterSession(string directory, GenAiDecoderConfig config, OrtInferenceSession session)
    {
        Directory = directory;
        Config = config;
        _session = session;
        ModelPath = Path.Combine(directory, config.DecoderFile);
        var inputs = session.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        TensorElementType TypeOf(string name) => inputs.TryGetValue(name, out OrtTensorInfo? info)
            ? info.ElementType
            : throw new InvalidOperationException($"{ModelPath}: the decoder has no input '{name}' that {GenAiDecoderConfig.FileName} names");
        _idsType = TypeOf(config.InputIdsName);
        _maskType = TypeOf(config.AttentionMaskName);
        _pastType = TypeOf(GenAiDecoderConfig.LayerName(config.PastKeyNames, 0));
        _positionIds = config.PositionIdsName ?? (inputs.ContainsKey("position_ids") ? "position_ids" : null);
        LoraInputs = OnnxLoraInputs.FromSession(session);
    }

    /// <summary>The folder with genai_config.json.</summary>
    public string Directory { get; }

    public string ModelPath { get; }

    public GenAiDecoderConfig Config { get; }

    /// <summary>The LoRA inputs the session has (empty for a model built without them, e.g. a merged export).</summary>
    public IReadOnlyList<OnnxLoraInput> LoraInputs { get; }

    public IReadOnlyCollection<string> AdapterNames => _adapters.Keys;

    /// <summary>The KV cache's element type: float32, or float16 for a float16 model.</summary>
    public TensorElementType PastElementType => _pastType;

    /// <summary>The decoder of an ORT GenAI folder (or of a model directory with onnx/ inside).</summary>
    public static MultiAdapterSession Open(string path, OrtSessionSettings? settings = null) =>
        OrtDecoderModel.OpenFolder(path, settings, (directory, config, session) => new MultiAdapterSession(directory, config, session));

    /// <summary>Loads an .onnx_adapter file under <paramref name="name"/> (ORT memory-maps it) after checking it against the model.</summary>
    /// <exception cref="OnnxCoEvo.Core.DataFormatException">The file is not an adapter or does not fit the model; names the file and parameter.</exception>
    public void LoadAdapter(string name, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"no ONNX adapter file '{full}'", full);
        IReadOnlyList<OnnxAdapterParameter> parameters = OnnxAdapterFile.Read(full);
        OnnxLoraInputs.Check(parameters, LoraInputs, full, ModelPath);
        Add(name, full, OrtLoraAdapter.Open(full), parameters.Count);
    }

    /// <summary>Loads adapter parameters held in memory (written to adapter bytes, which ORT copies).</summary>
    public void LoadAdapter(string name, IReadOnlyList<OnnxAdapterParameter> parameters, string source = "<memory>")
    {
        OnnxLoraInputs.Check(parameters, LoraInputs, source, ModelPath);
        Add(name, source, OrtLoraAdapter.FromBytes(OnnxAdapterFile.Write(parameters)), parameters.Count);
    }

    private void Add(string name, string source, OrtLoraAdapter adapter, int parameterCount)
    {
        try
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (_adapters.ContainsKey(name))
                throw new ArgumentException($"an adapter named '{name}' is loaded already ({_adapters[name].Source}); unload it first", nameof(name));
            var options = new OrtRunOptions();
            try
            {
                options.AddActiveLoraAdapter(adapter);
            }
            catch
            {
                options.Dispose();
                throw;
            }
            _adapters[name] = new LoadedAdapter(source, adapter, options, parameterCount);
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    /// <summary>Releases a loaded adapter; false when none has that name.</summary>
    public bool UnloadAdapter(string name)
    {
        if (!_adapters.Remove(name, out LoadedAdapter? adapter))
            return false;
        adapter.Dispose();
        return true;
    }

    /// <summary>
    /// Logits [tokens.Length, vocab] (row-major) of every position of <paramref name="tokens"/>, with the adapter loaded
    /// under <paramref name="adapter"/> active (null: the base model).
    /// </summary>
    public float[] Logits(ReadOnlySpan<int> tokens, string? adapter = null)
    {
        if (tokens.IsEmpty)
            throw new ArgumentException("a run needs at least one token", nameof(tokens));
        if (tokens.Length > Config.ContextLength)
            throw new ArgumentException($"{tokens.Length} tokens exceed the context length {Config.ContextLength}", nameof(tokens));
        foreach (int id in tokens)
            if ((uint)id >= (uint)Config.VocabSize)
                throw new ArgumentException($"token id {id} is outside the vocabulary [0, {Config.VocabSize})", nameof(tokens));
        OrtRunOptions? options = null;
        if (adapter is not null)
            options = _adapters.TryGetValue(adapter, out LoadedAdapter? loaded)
                ? loaded.Options
                : throw new ArgumentException($"no adapter named '{adapter}' is loaded (loaded: {(_adapters.Count == 0 ? "none" : string.Join(", ", _adapters.Keys))})", nameof(adapter));

        int count = tokens.Length;
        var owned = new List<OrtValue>(3 + 2 * Config.NumHiddenLayers);
        try
        {
            var inputs = new List<KeyValuePair<string, OrtValue>>(owned.Capacity);
            void Add(string name, OrtValue value)
            {
                owned.Add(value);
                inputs.Add(new(name, value));
            }
            long[] ids = new long[count];
            for (int t = 0; t < count; t++) ids[t] = tokens[t];
            Add(Config.InputIdsName, Integers(ids, _idsType));
            Add(Config.AttentionMaskName, Integers(Enumerable.Repeat(1L, count).ToArray(), _maskType));
            if (_positionIds is not null)
                Add(_positionIds, Integers(Enumerable.Range(0, count).Select(t => (long)t).ToArray(), _maskType));
            long[] emptyPast = [1, Config.NumKeyValueHeads, 0, Config.HeadSize];
            for (int layer = 0; layer < Config.NumHiddenLayers; layer++)
            {
                Add(GenAiDecoderConfig.LayerName(Config.PastKeyNames, layer), EmptyPast(emptyPast));
                Add(GenAiDecoderConfig.LayerName(Config.PastValueNames, layer), EmptyPast(emptyPast));
            }
            OrtValue[] outputs = _session.Run(inputs, [Config.LogitsName], options);
            try
            {
                OrtValue logits = outputs[0];
                if (logits.ElementCount != (long)count * Config.VocabSize)
                    throw new InvalidOperationException($"{ModelPath}: output '{Config.LogitsName}' has {logits.ElementCount} values; {count} positions x vocabulary {Config.VocabSize} expected");
                return logits.ElementType switch
                {
                    TensorElementType.Float => logits.AsSpan<float>().ToArray(),
                    TensorElementType.Float16 or TensorElementType.BFloat16 =>
                        AdapterExport.Decode(MemoryMarshal.AsBytes(logits.AsSpan<ushort>()), logits.ElementType),
                    _ => throw new NotSupportedException($"{ModelPath}: output '{Config.LogitsName}' is {logits.ElementType}; expected float32 or float16"),
                };
            }
            finally
            {
                foreach (OrtValue output in outputs) output.Dispose();
            }
        }
        finally
        {
            foreach (OrtValue value in owned) value.Dispose();
        }
    }

    private OrtValue EmptyPast(long[] shape) => _pastType switch
    {
        TensorElementType.Float => OrtValue.FromMemory(Memory<float>.Empty, shape),
        TensorElementType.Float16 or TensorElementType.BFloat16 => OrtValue.FromMemory(Memory<ushort>.Empty, shape, _pastType),
        _ => throw new NotSupportedException($"{ModelPath}: the KV cache is {_pastType}; expected float32 or float16"),
    };

    private static OrtValue Integers(long[] values, TensorElementType type) => type is TensorElementType.Int64 or TensorElementType.Int32
        ? OrtDecoderModel.IntegerTensor(type == TensorElementType.Int32, 1, values.Length, (_, t) => values[t])
        : throw new NotSupportedException($"decoder integer inputs must be int64 or int32, not {type}");

    public void Dispose()
    {
        foreach (LoadedAdapter adapter in _adapters.Values) adapter.Dispose();
        _adapters.Clear();
        _session.Dispose();
    }
}
