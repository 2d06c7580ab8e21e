using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// The ONNX decoder of a GenAI-style folder (genai_config.json + model.onnx) run with ONNX Runtime, with a KV cache per
/// slot. When genai_config says <c>past_present_share_buffer</c> (GroupQueryAttention), each slot owns one buffer per
/// layer for keys and one for values, shape (1, kv_heads, capacity, head_size), bound with IoBinding as both past and
/// present so ORT writes new rows in place; capacity grows by doubling (rows copied), truncation only moves the
/// length. Otherwise (standard attention ops) the present tensors ORT returns become the next call's past.
/// <para>Each slot runs as its own batch-1 call: a prefill in chunks of <see cref="PrefillChunk"/> tokens, a decode
/// step as one token. Batching decode steps of several slots into one call would need their caches in one
/// (slots, kv_heads, capacity, head_size) buffer and per-row lengths (GQA's seqlens_k); not done yet.</para>
/// <para>LoRA: <see cref="SetAdapter"/> feeds the graph's LoRA inputs (rank-0 defaults otherwise) and empties every
/// cache, since cached keys and values were computed with the previous adapter. An .onnx_adapter is activated through
/// the run options on plain runs; runs with an IoBinding (shared KV) bind its parameters as inputs, because ORT 1.30's
/// RunWithBinding does not apply the run options' active adapters.</para>
/// </summary>
public sealed class OrtDecoderModel : IDecoderModel
{
    /// <summary>Prompt tokens per call at most (bounds the logits tensor: chunk x vocabulary floats).</summary>
    public const int PrefillChunk = 512;

    private readonly OrtInferenceSession _session;
    private readonly Dictionary<int, KvCache> _slots = [];
    private readonly bool _idsAreInt32, _maskIsInt32;
    private readonly string? _positionIdsName;
    private readonly string[] _pastKeys, _pastValues, _presentKeys, _presentValues;
    private DecoderLoraAdapter? _adapter;
    private OrtRunOptions? _runOptions;

    private OrtDecoderModel(string directory, GenAiDecoderConfig config, OrtInferenceSession session)
    {
        Directory = directory;
        Config = config;
        _session = session;
        int layers = config.NumHiddenLayers;
        _pastKeys = Names(config.PastKeyNames, layers);
        _pastValues = Names(config.PastValueNames, layers);
        _presentKeys = Names(config.PresentKeyNames, layers);
        _presentValues = Names(config.PresentValueNames, layers);

        Dictionary<string, OrtTensorInfo> inputs = session.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        OrtTensorInfo Input(string name) => inputs.TryGetValue(name, out OrtTensorInfo? info)
            ? info
            : throw new InvalidOperationException($"{Path.Combine(directory, config.DecoderFile)}: the decoder has no input '{name}' that {GenAiDecoderConfig.FileName} names");
        _idsAreInt32 = IntegerType(Input(config.InputIdsName)) == TensorElementType.Int32;
        _maskIsInt32 = IntegerType(Input(config.AttentionMaskName)) == TensorElementType.Int32;
        _positionIdsName = config.PositionIdsName ?? (inputs.ContainsKey("position_ids") ? "position_ids" : null);
        if (_positionIdsName is not null && IntegerType(Input(_positionIdsName)) != (_maskIsInt32 ? TensorElementType.Int32 : TensorElementType.Int64))
            throw new NotSupportedException($"{config.DecoderFile}: position_ids and attention_mask have different integer types");
        foreach (string name in _pastKeys.Concat(_pastValues))
            if (Input(name).ElementType != TensorElementType.Float)
                throw new NotSupportedException($"{config.DecoderFile}: input '{name}' is {Input(name).ElementType}; this generator runs float32 KV caches (CPU)");
    }

    /// <summary>The folder holding genai_config.json.</summary>
    public string Directory { get; }

    public GenAiDecoderConfig Config { get; }

    public DecoderLoraAdapter? Adapter => _adapter;

    public int VocabSize => Config.VocabSize;

    public int MaxSequenceLength => Config.MaxLength;

    /// <summary>The folder with genai_config.json: <paramref name="path"/> itself, or its onnx/ subfolder (a model directory).</summary>
    public static string ResolveDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(Path.Combine(path, GenAiDecoderConfig.FileName))) return Path.GetFullPath(path);
        string nested = Path.Combine(path, "onnx");
        if (File.Exists(Path.Combine(nested, GenAiDecoderConfig.FileName))) return Path.GetFullPath(nested);
        throw new FileNotFoundException(
            $"'{path}' has no {GenAiDecoderConfig.FileName}, nor an onnx/ folder with one; build the ONNX decoder with `coevo onnx build --model DIR`",
            Path.Combine(path, GenAiDecoderConfig.FileName));
    }

    /// <summary>Opens the decoder of an onnx folder or of a model directory with onnx/ inside.</summary>
    public static OrtDecoderModel Open(string path, OrtSessionSettings? settings = null)
    {
        string directory = ResolveDirectory(path);
        GenAiDecoderConfig config = GenAiDecoderConfig.Load(directory);
        string modelFile = Path.Combine(directory, config.DecoderFile);
        if (!File.Exists(modelFile))
            throw new FileNotFoundException($"{Path.Combine(directory, GenAiDecoderConfig.FileName)}: decoder.filename names '{config.DecoderFile}', which does not exist", modelFile);
        OrtInferenceSession session = OrtInferenceSession.Open(modelFile, settings);
        try
        {
            return new OrtDecoderModel(directory, config, session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes <paramref name="adapter"/> (null: none, the base model) active for later calls and empties every slot's
    /// cache. The model does not own the adapter; keep it alive while it is active.
    /// </summary>
    public void SetAdapter(DecoderLoraAdapter? adapter)
    {
        if (ReferenceEquals(adapter, _adapter)) return;
        _runOptions?.Dispose();
        _runOptions = null;
        _adapter = adapter;
        if (adapter?.OrtAdapter is { } ortAdapter)
        {
            _runOptions = new OrtRunOptions();
            _runOptions.AddActiveLoraAdapter(ortAdapter);
        }
        foreach (KvCache cache in _slots.Values) cache.Truncate(0);
    }

    public int CachedLength(int slot) => _slots.TryGetValue(slot, out KvCache? cache) ? cache.Length : 0;

    public void Truncate(int slot, int length)
    {
        DecoderChecks.Truncation(slot, length, CachedLength(slot));
        if (_slots.TryGetValue(slot, out KvCache? cache)) cache.Truncate(length);
    }

    public void Release(int slot)
    {
        if (_slots.Remove(slot, out KvCache? cache)) cache.Dispose();
    }

    public void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits)
    {
        DecoderChecks.Steps(this, steps, logits, CachedLength);
        for (int i = 0; i < steps.Count; i++)
        {
            DecoderStep step = steps[i];
            if (!_slots.TryGetValue(step.Slot, out KvCache? cache))
                _slots[step.Slot] = cache = Config.PastPresentShareBuffer ? new SharedKvCache(Config) : new GrowingKvCache(Config);
            ReadOnlyMemory<int> tokens = step.Tokens;
            Span<float> row = logits.Slice(i * VocabSize, VocabSize);
            for (int start = 0; start < tokens.Length; start += PrefillChunk)
                Run(cache, tokens.Slice(start, Math.Min(PrefillChunk, tokens.Length - start)), row);
        }
    }

    /// <summary>Appends <paramref name="tokens"/> to the cache and copies the last position's logits into <paramref name="lastLogits"/>.</summary>
    private void Run(KvCache cache, ReadOnlyMemory<int> tokens, Span<float> lastLogits)
    {
        int past = cache.Length, count = tokens.Length, total = past + count;
        var owned = new List<OrtValue>(4);
        try
        {
            var inputs = new List<KeyValuePair<string, OrtValue>>(4 + 2 * Config.NumHiddenLayers);
            OrtValue Add(string name, OrtValue value)
            {
                owned.Add(value);
                inputs.Add(new(name, value));
                return value;
            }
            Add(Config.InputIdsName, IntegerTensor(_idsAreInt32, count, t => tokens.Span[t]));
            Add(Config.AttentionMaskName, IntegerTensor(_maskIsInt32, total, _ => 1));
            if (_positionIdsName is not null)
                Add(_positionIdsName, IntegerTensor(_maskIsInt32, count, t => past + t));
            // ORT feeds an active .onnx_adapter itself on plain runs; a binding ignores it, so bind its values instead.
            if (_adapter is not null && (cache is SharedKvCache || _adapter.OrtAdapter is null))
                for (int i = 0; i < _adapter.InputNames.Count; i++)
                    inputs.Add(new(_adapter.InputNames[i], _adapter.InputValues[i]));

            if (cache is SharedKvCache shared)
                RunShared(shared, inputs, total, lastLogits);
            else
                RunGrowing((GrowingKvCache)cache, inputs, lastLogits);
            cache.Length = total;
        }
        finally
        {
            foreach (OrtValue value in owned) value.Dispose();
        }
    }

    private void RunShared(SharedKvCache cache, List<KeyValuePair<string, OrtValue>> inputs, int total, Span<float> lastLogits)
    {
        cache.EnsureCapacity(total, MaxSequenceLength);
        using OrtIoBinding binding = _session.CreateBinding();
        foreach ((string name, OrtValue value) in inputs) binding.BindInput(name, value);
        binding.BindOutputToCpu(Config.LogitsName); // first bound output: index 0 of GetOutputs
        for (int layer = 0; layer < Config.NumHiddenLayers; layer++)
        {
            binding.BindInput(_pastKeys[layer], cache.Keys[layer]);
            binding.BindInput(_pastValues[layer], cache.Values[layer]);
            binding.BindOutput(_presentKeys[layer], cache.Keys[layer]);
            binding.BindOutput(_presentValues[layer], cache.Values[layer]);
        }
        _session.Run(binding);
        OrtValue[] outputs = binding.GetOutputs();
        try
        {
            CopyLastRow(outputs[0], lastLogits);
        }
        finally
        {
            foreach (OrtValue output in outputs) output.Dispose();
        }
    }

    private void RunGrowing(GrowingKvCache cache, List<KeyValuePair<string, OrtValue>> inputs, Span<float> lastLogits)
    {
        int layers = Config.NumHiddenLayers;
        for (int layer = 0; layer < layers; layer++)
        {
            inputs.Add(new(_pastKeys[layer], cache.Keys[layer]));
            inputs.Add(new(_pastValues[layer], cache.Values[layer]));
        }
        var outputNames = new List<string>(1 + 2 * layers) { Config.LogitsName };
        for (int layer = 0; layer < layers; layer++)
        {
            outputNames.Add(_presentKeys[layer]);
            outputNames.Add(_presentValues[layer]);
        }
        OrtValue[] outputs = _session.Run(inputs, outputNames, _runOptions);
        using OrtValue logits = outputs[0];
        for (int layer = 0; layer < layers; layer++)
            cache.Replace(layer, outputs[1 + 2 * layer], outputs[2 + 2 * layer]);
        CopyLastRow(logits, lastLogits);
    }

    private void CopyLastRow(OrtValue logits, Span<float> destination)
    {
        ReadOnlySpan<float> all = logits.AsSpan<float>();
        if (all.Length < VocabSize || all.Length % VocabSize != 0)
            throw new InvalidOperationException($"{Config.DecoderFile}: output '{Config.LogitsName}' has {all.Length} values, not a multiple of the vocabulary {VocabSize}");
        all[^VocabSize..].CopyTo(destination);
    }

    private delegate long PositionValue(int index);

    private static OrtValue IntegerTensor(bool int32, int length, PositionValue value)
    {
        if (int32)
        {
            var data = new int[length];
            for (int i = 0; i < length; i++) data[i] = checked((int)value(i));
            return OrtValue.FromMemory(data.AsMemory(), [1, length]);
        }
        var wide = new long[length];
        for (int i = 0; i < length; i++) wide[i] = value(i);
        return OrtValue.FromMemory(wide.AsMemory(), [1, length]);
    }

    private static TensorElementType IntegerType(OrtTensorInfo info) => info.ElementType is TensorElementType.Int32 or TensorElementType.Int64
        ? info.ElementType
        : throw new NotSupportedException($"decoder input '{info.Name}' is {info.ElementType}; expected int64 or int32");

    private static string[] Names(string pattern, int layers) =>
        Enumerable.Range(0, layers).Select(layer => GenAiDecoderConfig.LayerName(pattern, layer)).ToArray();

    public void Dispose()
    {
        foreach (KvCache cache in _slots.Values) cache.Dispose();
        _slots.Clear();
        _runOptions?.Dispose();
        _session.Dispose();
    }

    /// <summary>One slot's keys and values for every layer, BNSH with batch 1.</summary>
    private abstract class KvCache(GenAiDecoderConfig config) : IDisposable
    {
        protected readonly int KvHeads = config.NumKeyValueHeads, HeadSize = config.HeadSize;

        public OrtValue[] Keys { get; protected set; } = new OrtValue[config.NumHiddenLayers];
        public OrtValue[] Values { get; protected set; } = new OrtValue[config.NumHiddenLayers];
        public int Length { get; set; }

        public abstract void Truncate(int length);

        public virtual void Dispose()
        {
            foreach (OrtValue? value in Keys.Concat(Values)) value?.Dispose();
        }
    }

    /// <summary>Managed buffers of (1, kv_heads, capacity, head_size), pinned as OrtValues; ORT writes rows [past, past+new).</summary>
    private sealed class SharedKvCache(GenAiDecoderConfig config) : KvCache(config)
    {
        private const int MinimumCapacity = 64;
        private float[][] _keyData = [];
        private float[][] _valueData = [];
        private int _capacity;

        public override void Truncate(int length) => Length = length; // rows past the length are ignored and overwritten

        public void EnsureCapacity(int needed, int limit)
        {
            if (needed <= _capacity) return;
            int capacity = Math.Min(limit, Math.Max(needed, Math.Max(MinimumCapacity, 2 * _capacity)));
            int layers = Keys.Length;
            var keys = new float[layers][];
            var values = new float[layers][];
            for (int layer = 0; layer < layers; layer++)
            {
                keys[layer] = Grow(_keyData.Length > 0 ? _keyData[layer] : null, capacity);
                values[layer] = Grow(_valueData.Length > 0 ? _valueData[layer] : null, capacity);
            }
            base.Dispose();
            _keyData = keys;
            _valueData = values;
            _capacity = capacity;
            long[] shape = [1, KvHeads, capacity, HeadSize];
            for (int layer = 0; layer < layers; layer++)
            {
                Keys[layer] = OrtValue.FromMemory(keys[layer].AsMemory(), shape);
                Values[layer] = OrtValue.FromMemory(values[layer].AsMemory(), shape);
            }
        }

        // Copies each head's first Length rows into a buffer of the new capacity.
        private float[] Grow(float[]? old, int capacity)
        {
            var data = new float[KvHeads * capacity * HeadSize];
            if (old is not null)
                for (int head = 0; head < KvHeads; head++)
                    old.AsSpan(head * _capacity * HeadSize, Length * HeadSize).CopyTo(data.AsSpan(head * capacity * HeadSize));
            return data;
        }
    }

    /// <summary>Past tensors of exactly (1, kv_heads, length, head_size): the presents of the previous call.</summary>
    private sealed class GrowingKvCache : KvCache
    {
        public GrowingKvCache(GenAiDecoderConfig config)
            : base(config) => Truncate(0);

        public void Replace(int layer, OrtValue key, OrtValue value)
        {
            Keys[layer]?.Dispose();
            Values[layer]?.Dispose();
            Keys[layer] = key;
            Values[layer] = value;
        }

        public override void Truncate(int length)
        {
            for (int layer = 0; layer < Keys.Length; layer++)
            {
                if (Keys[layer] is not null && length == Length) continue;
                Replace(layer, Slice(Keys[layer], length), Slice(Values[layer], length));
            }
            Length = length;
        }

        private OrtValue Slice(OrtValue? source, int length)
        {
            OrtValue result = OrtValue.Allocate(TensorElementType.Float, [1, KvHeads, length, HeadSize]);
            if (source is not null && length > 0)
            {
                ReadOnlySpan<float> from = source.AsSpan<float>();
                Span<float> to = result.AsSpan<float>();
                for (int head = 0; head < KvHeads; head++)
                    from.Slice(head * Length * HeadSize, length * HeadSize).CopyTo(to.Slice(head * length * HeadSize));
            }
            return result;
        }
    }
}
