using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// The ONNX decoder of a GenAI-style folder (genai_config.json + model.onnx) run with ONNX Runtime, with a KV cache per
/// slot.
/// <para>When genai_config says <c>past_present_share_buffer</c> (GroupQueryAttention), every slot is a row of one
/// pool per layer for keys and one for values, shape (rows, kv_heads, capacity, head_size), bound with IoBinding as
/// both past and present so ORT writes new keys and values in place (at each row's own length, which GQA reads from
/// the attention mask's row sums). A prompt is prefilled as a batch-1 call on its row (chunks of
/// <see cref="PrefillChunk"/> tokens); one-token decode steps of many slots run as one call over rows 0..last, rows
/// without a step riding along on a pad token whose key lands past their length (overwritten later, never read).
/// Rows and capacity grow by doubling (valid rows copied); truncation only moves a row's length.</para>
/// <para>Otherwise (standard attention ops, share_buffer false) each slot keeps the present tensors ORT returned as
/// its next past and runs its own batch-1 calls: batching those would mean padding and concatenating pasts per step.</para>
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
    private readonly SharedKvPool? _pool;
    private readonly Dictionary<int, GrowingKvCache> _growing = [];
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
        if (config.PastPresentShareBuffer)
            _pool = new SharedKvPool(config, config.MaxLength);
    }

    /// <summary>The folder holding genai_config.json.</summary>
    public string Directory { get; }

    public GenAiDecoderConfig Config { get; }

    public DecoderLoraAdapter? Adapter => _adapter;

    public int VocabSize => Config.VocabSize;

    /// <summary>
    /// The longest sequence a slot may hold. On the shared pool it is one short of the context: a row riding along in a
    /// batched decode step gets its pad token at its own length, and the attention's rotary table has only
    /// max_length positions (ORT refuses a total sequence length beyond it).
    /// </summary>
    public int MaxSequenceLength => _pool is null ? Config.MaxLength : Config.MaxLength - 1;

    /// <summary>The folder with genai_config.json: <paramref name="path"/> itself, or its onnx/ subfolder (a model directory).</summary>
    public static string ResolveDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(Path.Combine(path, GenAiDecoderConfig.FileName))) return Path.GetFullPath(path);
        string nested = Path.Combine(path, Decoder.OnnxDecoderExport.DefaultSubdirectory);
        if (File.Exists(Path.Combine(nested, GenAiDecoderConfig.FileName))) return Path.GetFullPath(nested);
        throw new FileNotFoundException(
            $"'{path}' has no {GenAiDecoderConfig.FileName}, nor an onnx/ folder with one; build the ONNX decoder with `coevo onnx build --model DIR`",
            Path.Combine(path, GenAiDecoderConfig.FileName));
    }

    /// <summary>Opens the decoder of an onnx folder or of a model directory with onnx/ inside.</summary>
    public static OrtDecoderModel Open(string path, OrtSessionSettings? settings = null) =>
        OpenFolder(path, settings, (directory, config, session) => new OrtDecoderModel(directory, config, session));

    /// <summary>
    /// Resolves a GenAI folder (<see cref="ResolveDirectory"/>), reads its config, opens a session on its decoder and hands
    /// the three to <paramref name="create"/>; the session is disposed if <paramref name="create"/> throws.
    /// </summary>
    internal static T OpenFolder<T>(string path, OrtSessionSettings? settings, Func<string, GenAiDecoderConfig, OrtInferenceSession, T> create)
    {
        string directory = ResolveDirectory(path);
        GenAiDecoderConfig config = GenAiDecoderConfig.Load(directory);
        string modelFile = Path.Combine(directory, config.DecoderFile);
        if (!File.Exists(modelFile))
            throw new FileNotFoundException($"{Path.Combine(directory, GenAiDecoderConfig.FileName)}: decoder.filename names '{config.DecoderFile}', which does not exist", modelFile);
        OrtInferenceSession session = OrtInferenceSession.Open(modelFile, settings);
        try
        {
            return create(directory, config, session);
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
        _pool?.TruncateAll();
        foreach (GrowingKvCache cache in _growing.Values) cache.Truncate(0);
    }

    public int CachedLength(int slot) =>
        _pool is not null ? _pool.Length(slot) : _growing.TryGetValue(slot, out GrowingKvCache? cache) ? cache.Length : 0;

    public void Truncate(int slot, int length)
    {
        DecoderChecks.Truncation(slot, length, CachedLength(slot));
        if (_pool is not null) _pool.Truncate(slot, length);
        else if (_growing.TryGetValue(slot, out GrowingKvCache? cache)) cache.Truncate(length);
    }

    public void Release(int slot)
    {
        if (_pool is not null) _pool.Release(slot);
        else if (_growing.Remove(slot, out GrowingKvCache? cache)) cache.Dispose();
    }

    public void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits)
    {
        DecoderChecks.Steps(this, steps, logits, CachedLength);
        var decode = new List<int>(steps.Count);
        for (int i = 0; i < steps.Count; i++)
        {
            DecoderStep step = steps[i];
            if (_pool is not null && step.Tokens.Length == 1)
            {
                decode.Add(i);
                continue;
            }
            Span<float> row = logits.Slice(i * VocabSize, VocabSize);
            for (int start = 0; start < step.Tokens.Length; start += PrefillChunk)
            {
                ReadOnlyMemory<int> chunk = step.Tokens.Slice(start, Math.Min(PrefillChunk, step.Tokens.Length - start));
                if (_pool is not null) RunPooled([(step.Slot, chunk)], row);
                else RunGrowing(step.Slot, chunk, row);
            }
        }
        if (decode.Count > 0)
        {
            var batch = decode.Select(i => (steps[i].Slot, steps[i].Tokens)).ToArray();
            var rows = new float[batch.Length * VocabSize];
            RunPooled(batch, rows);
            for (int k = 0; k < decode.Count; k++)
                rows.AsSpan(k * VocabSize, VocabSize).CopyTo(logits.Slice(decode[k] * VocabSize, VocabSize));
        }
    }

    /// <summary>
    /// One bound run over the shared pool: a single slot's tokens as a batch-1 call on its row, or one token for each of
    /// several slots as a call over rows 0..last. Writes each entry's last-position logits to <paramref name="logits"/> in order.
    /// </summary>
    private void RunPooled(IReadOnlyList<(int Slot, ReadOnlyMemory<int> Tokens)> entries, Span<float> logits)
    {
        SharedKvPool pool = _pool!;
        int[] entryRows = entries.Select(e => pool.RowFor(e.Slot)).ToArray();
        bool single = entries.Count == 1;
        int firstRow = single ? entryRows[0] : 0;
        int rowCount = single ? 1 : entryRows.Max() + 1;
        int count = single ? entries[0].Tokens.Length : 1;
        var tokenAt = new Dictionary<int, ReadOnlyMemory<int>>(entries.Count);
        for (int e = 0; e < entries.Count; e++) tokenAt[entryRows[e]] = entries[e].Tokens;

        // Each row's length after the run: rows without an entry get a pad token at their length, counted in no length.
        var totals = new int[rowCount];
        for (int r = 0; r < rowCount; r++) totals[r] = pool.RowLength(firstRow + r) + count;
        int width = totals.Max();
        pool.EnsureCapacity(width);

        var owned = new List<OrtValue>(4 + 4 * Config.NumHiddenLayers);
        try
        {
            var inputs = new List<KeyValuePair<string, OrtValue>>(4 + AdapterInputCount);
            void Add(string name, OrtValue value)
            {
                owned.Add(value);
                inputs.Add(new(name, value));
            }
            Add(Config.InputIdsName, IntegerTensor(_idsAreInt32, rowCount, count,
                (r, t) => tokenAt.TryGetValue(firstRow + r, out ReadOnlyMemory<int> tokens) ? tokens.Span[t] : 0));
            Add(Config.AttentionMaskName, IntegerTensor(_maskIsInt32, rowCount, width, (r, t) => t < totals[r] ? 1 : 0));
            if (_positionIdsName is not null)
                Add(_positionIdsName, IntegerTensor(_maskIsInt32, rowCount, count, (r, t) => totals[r] - count + t));
            AddAdapterInputs(inputs, bound: true);

            (OrtValue[] keys, OrtValue[] values) = pool.Views(firstRow, rowCount);
            owned.AddRange(keys);
            owned.AddRange(values);
            using OrtIoBinding binding = _session.CreateBinding();
            foreach ((string name, OrtValue value) in inputs) binding.BindInput(name, value);
            binding.BindOutputToCpu(Config.LogitsName); // first bound output: index 0 of GetOutputs
            for (int layer = 0; layer < Config.NumHiddenLayers; layer++)
            {
                binding.BindInput(_pastKeys[layer], keys[layer]);
                binding.BindInput(_pastValues[layer], values[layer]);
                binding.BindOutput(_presentKeys[layer], keys[layer]);
                binding.BindOutput(_presentValues[layer], values[layer]);
            }
            _session.Run(binding);
            OrtValue[] outputs = binding.GetOutputs();
            try
            {
                ReadOnlySpan<float> all = CheckedLogits(outputs[0], rowCount * count);
                for (int e = 0; e < entries.Count; e++)
                {
                    int r = entryRows[e] - firstRow;
                    all.Slice(((r + 1) * count - 1) * VocabSize, VocabSize).CopyTo(logits.Slice(e * VocabSize, VocabSize));
                    pool.SetRowLength(entryRows[e], totals[r]);
                }
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

    private int AdapterInputCount => _adapter?.InputNames.Count ?? 0;

    // ORT feeds an active .onnx_adapter itself on plain runs; a binding ignores it, so bound runs feed its values.
    private void AddAdapterInputs(List<KeyValuePair<string, OrtValue>> inputs, bool bound)
    {
        if (_adapter is null || (!bound && _adapter.OrtAdapter is not null)) return;
        for (int i = 0; i < _adapter.InputNames.Count; i++)
            inputs.Add(new(_adapter.InputNames[i], _adapter.InputValues[i]));
    }

    /// <summary>A batch-1 plain run of one slot: its past in, the presents out as its next past.</summary>
    private void RunGrowing(int slot, ReadOnlyMemory<int> tokens, Span<float> lastLogits)
    {
        if (!_growing.TryGetValue(slot, out GrowingKvCache? cache))
            _growing[slot] = cache = new GrowingKvCache(Config);
        int past = cache.Length, count = tokens.Length, total = past + count, layers = Config.NumHiddenLayers;
        var owned = new List<OrtValue>(3);
        try
        {
            var inputs = new List<KeyValuePair<string, OrtValue>>(3 + 2 * layers + AdapterInputCount);
            void Add(string name, OrtValue value)
            {
                owned.Add(value);
                inputs.Add(new(name, value));
            }
            Add(Config.InputIdsName, IntegerTensor(_idsAreInt32, 1, count, (_, t) => tokens.Span[t]));
            Add(Config.AttentionMaskName, IntegerTensor(_maskIsInt32, 1, total, (_, _) => 1));
            if (_positionIdsName is not null)
                Add(_positionIdsName, IntegerTensor(_maskIsInt32, 1, count, (_, t) => past + t));
            AddAdapterInputs(inputs, bound: false);
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
            cache.Length = total;
            CheckedLogits(logits, count)[^VocabSize..].CopyTo(lastLogits);
        }
        finally
        {
            foreach (OrtValue value in owned) value.Dispose();
        }
    }

    private ReadOnlySpan<float> CheckedLogits(OrtValue logits, int positions)
    {
        ReadOnlySpan<float> all = logits.AsSpan<float>();
        if (all.Length != (long)positions * VocabSize)
            throw new InvalidOperationException(
                $"{Config.DecoderFile}: output '{Config.LogitsName}' has {all.Length} values; {positions} positions x vocabulary {VocabSize} expected");
        return all;
    }

    /// <summary>An integer tensor [rows, columns] of int32 or int64 (as the decoder declares the input).</summary>
    internal static OrtValue IntegerTensor(bool int32, int rows, int columns, Func<int, int, long> value)
    {
        if (int32)
        {
            var data = new int[rows * columns];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++) data[r * columns + c] = checked((int)value(r, c));
            return OrtValue.FromMemory(data.AsMemory(), [rows, columns]);
        }
        var wide = new long[rows * columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) wide[r * columns + c] = value(r, c);
        return OrtValue.FromMemory(wide.AsMemory(), [rows, columns]);
    }

    private static TensorElementType IntegerType(OrtTensorInfo info) => info.ElementType is TensorElementType.Int32 or TensorElementType.Int64
        ? info.ElementType
        : throw new NotSupportedException($"decoder input '{info.Name}' is {info.ElementType}; expected int64 or int32");

    private static string[] Names(string pattern, int layers) =>
        Enumerable.Range(0, layers).Select(layer => GenAiDecoderConfig.LayerName(pattern, layer)).ToArray();

    public void Dispose()
    {
        foreach (GrowingKvCache cache in _growing.Values) cache.Dispose();
        _growing.Clear();
        _runOptions?.Dispose();
        _session.Dispose();
    }

    /// <summary>
    /// The shared-buffer KV store: per layer one key and one value array of (rows, kv_heads, capacity, head_size), a
    /// row per slot (lowest free row first, so live rows stay packed at the front) and each row's length.
    /// </summary>
    private sealed class SharedKvPool(GenAiDecoderConfig config, int capacityLimit)
    {
        private const int MinimumCapacity = 64;
        private readonly int _layers = config.NumHiddenLayers, _kvHeads = config.NumKeyValueHeads, _headSize = config.HeadSize;
        private readonly Dictionary<int, int> _rowOfSlot = [];
        private readonly SortedSet<int> _freeRows = [];
        private float[][] _keys = [];
        private float[][] _values = [];
        private int[] _lengths = [];
        private int _rows, _capacity;

        private int RowSize => _kvHeads * _capacity * _headSize;

        public int Length(int slot) => _rowOfSlot.TryGetValue(slot, out int row) ? _lengths[row] : 0;

        public int RowLength(int row) => _lengths[row];

        public void SetRowLength(int row, int length) => _lengths[row] = length;

        public void Truncate(int slot, int length)
        {
            if (_rowOfSlot.TryGetValue(slot, out int row)) _lengths[row] = length;
        }

        public void TruncateAll() => Array.Clear(_lengths);

        public void Release(int slot)
        {
            if (!_rowOfSlot.Remove(slot, out int row)) return;
            _lengths[row] = 0;
            _freeRows.Add(row);
        }

        /// <summary>The slot's row, taking the lowest free one (growing the pool) on first use.</summary>
        public int RowFor(int slot)
        {
            if (_rowOfSlot.TryGetValue(slot, out int row)) return row;
            if (_freeRows.Count == 0)
            {
                int rows = Math.Max(1, 2 * _rows);
                for (int r = _rows; r < rows; r++) _freeRows.Add(r);
                Reallocate(rows, Math.Max(_capacity, MinimumCapacity));
            }
            row = _freeRows.Min;
            _freeRows.Remove(row);
            _rowOfSlot[slot] = row;
            return row;
        }

        public void EnsureCapacity(int needed)
        {
            if (needed <= _capacity) return;
            if (needed > capacityLimit) throw new InvalidOperationException($"{needed} tokens exceed the KV capacity {capacityLimit}");
            Reallocate(_rows, Math.Min(capacityLimit, Math.Max(needed, Math.Max(MinimumCapacity, 2 * _capacity))));
        }

        /// <summary>Tensors over rows [first, first + count) of every layer (the caller disposes them; they pin the arrays).</summary>
        public (OrtValue[] Keys, OrtValue[] Values) Views(int first, int count)
        {
            long[] shape = [count, _kvHeads, _capacity, _headSize];
            var keys = new OrtValue[_layers];
            var values = new OrtValue[_layers];
            for (int layer = 0; layer < _layers; layer++)
            {
                keys[layer] = OrtValue.FromMemory(_keys[layer].AsMemory(first * RowSize, count * RowSize), shape);
                values[layer] = OrtValue.FromMemory(_values[layer].AsMemory(first * RowSize, count * RowSize), shape);
            }
            return (keys, values);
        }

        // New arrays of rows x capacity; each row's valid keys and values (its first length positions per head) copied.
        private void Reallocate(int rows, int capacity)
        {
            var lengths = new int[rows];
            _lengths.CopyTo(lengths, 0);
            int oldCapacity = _capacity;
            _keys = Copy(_keys, oldCapacity, rows, capacity);
            _values = Copy(_values, oldCapacity, rows, capacity);
            _lengths = lengths;
            _rows = rows;
            _capacity = capacity;
        }

        private float[][] Copy(float[][] old, int oldCapacity, int rows, int capacity)
        {
            var result = new float[_layers][];
            for (int layer = 0; layer < _layers; layer++)
            {
                var data = new float[(long)rows * _kvHeads * capacity * _headSize];
                if (old.Length > 0)
                {
                    for (int row = 0; row < _rows; row++)
                    {
                        for (int head = 0; head < _kvHeads; head++)
                        {
                            int from = ((row * _kvHeads) + head) * oldCapacity * _headSize;
                            int to = ((row * _kvHeads) + head) * capacity * _headSize;
                            old[layer].AsSpan(from, _lengths[row] * _headSize).CopyTo(data.AsSpan(to));
                        }
                    }
                }
                result[layer] = data;
            }
            return result;
        }
    }

    /// <summary>Past tensors of exactly (1, kv_heads, length, head_size): the presents of the previous call.</summary>
    private sealed class GrowingKvCache : IDisposable
    {
        private readonly int _kvHeads, _headSize;

        public GrowingKvCache(GenAiDecoderConfig config)
        {
            _kvHeads = config.NumKeyValueHeads;
            _headSize = config.HeadSize;
            Keys = new OrtValue[config.NumHiddenLayers];
            Values = new OrtValue[config.NumHiddenLayers];
            for (int layer = 0; layer < Keys.Length; layer++)
            {
                Keys[layer] = OrtValue.Allocate(TensorElementType.Float, [1, _kvHeads, 0, _headSize]);
                Values[layer] = OrtValue.Allocate(TensorElementType.Float, [1, _kvHeads, 0, _headSize]);
            }
        }

        public OrtValue[] Keys { get; }
        public OrtValue[] Values { get; }
        public int Length { get; set; }

        public void Replace(int layer, OrtValue key, OrtValue value)
        {
            Keys[layer].Dispose();
            Values[layer].Dispose();
            Keys[layer] = key;
            Values[layer] = value;
        }

        public void Truncate(int length)
        {
            if (length == Length) return;
            for (int layer = 0; layer < Keys.Length; layer++)
                Replace(layer, Slice(Keys[layer], length), Slice(Values[layer], length));
            Length = length;
        }

        // The first `length` positions of every head.
        private OrtValue Slice(OrtValue source, int length)
        {
            OrtValue result = OrtValue.Allocate(TensorElementType.Float, [1, _kvHeads, length, _headSize]);
            if (length > 0)
            {
                ReadOnlySpan<float> from = source.AsSpan<float>();
                Span<float> to = result.AsSpan<float>();
                for (int head = 0; head < _kvHeads; head++)
                    from.Slice(head * Length * _headSize, length * _headSize).CopyTo(to.Slice(head * length * _headSize));
            }
            return result;
        }

        public void Dispose()
        {
            foreach (OrtValue value in Keys.Concat(Values)) value.Dispose();
        }
    }
}
