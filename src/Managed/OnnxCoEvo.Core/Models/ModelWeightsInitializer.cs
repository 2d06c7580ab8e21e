using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Core.Models;

/// <summary>Options for <see cref="ModelWeightsInitializer.Write"/>.</summary>
public sealed record WeightsInitOptions
{
    public ulong Seed { get; init; }

    /// <summary>F32, F16 or BF16.</summary>
    public TensorDType DType { get; init; } = TensorDType.F32;

    /// <summary>Above this many tensor bytes the weights are split into shards with an index, as transformers does.</summary>
    public long MaxShardBytes { get; init; } = SafeTensorsCheckpointWriter.DefaultMaxShardBytes;

    /// <summary>Receives the cumulative tensor bytes written; the total is <see cref="ModelWeightsInitializer.TotalBytes"/>.</summary>
    public IProgress<long>? Progress { get; init; }
}

/// <summary>
/// Writes a model directory (config.json + safetensors weights) with seeded random weights: norms 1, biases 0,
/// linear and embedding weights Normal(0, initializer_range) as transformers initialises Llama-family models.
/// The bytes depend only on (seed, config, dtype): each tensor is cut into fixed chunks of <see cref="ChunkElements"/>
/// whose random stream is seeded by (seed, tensor name, chunk index), so chunks are generated in parallel and streamed
/// to disk a window at a time — an 8B model never sits in memory.
/// </summary>
public static class ModelWeightsInitializer
{
    /// <summary>Part of the determinism contract: changing it changes every generated weight.</summary>
    public const int ChunkElements = 1 << 18;

    private const int ChunksPerWindow = 16;

    private static readonly IReadOnlyDictionary<string, string> Metadata = new Dictionary<string, string> { ["format"] = "pt" };

    private enum InitKind { Normal, Ones, Zeros }

    /// <summary>The tensor bytes a model takes in <paramref name="dtype"/> (what the progress reports count up to).</summary>
    public static long TotalBytes(ModelConfig config, TensorDType dtype) => config.ParameterCount * dtype.ByteSize();

    /// <summary>Writes the weights and config.json into <paramref name="modelDirectory"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(string modelDirectory, ModelConfig config, WeightsInitOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        config.Validate();
        if (!options.DType.IsFloat32Convertible())
            throw new ArgumentException($"weights can be written as F32, F16 or BF16, not {options.DType.ToHeaderString()}", nameof(options));

        TensorSpec[] tensors = config.TensorLayout().Select(t => new TensorSpec(t.Name, options.DType, t.Shape)).ToArray();
        long largest = tensors.Max(t => t.ElementCount);
        int windowElements = (int)Math.Min(largest, (long)ChunkElements * ChunksPerWindow);
        var buffers = new[] { new float[windowElements], new float[windowElements] };
        double std = config.InitializerRange;

        var written = new List<string>(SafeTensorsCheckpointWriter.Write(modelDirectory, tensors, Metadata,
            (spec, sink) => WriteTensor(spec, sink, options.Seed, std, buffers, cancellationToken),
            options.MaxShardBytes, options.Progress, cancellationToken));

        string configPath = Path.Combine(modelDirectory, ModelConfig.FileName);
        (config with { TorchDType = options.DType.ToTorchName() }).Save(configPath);
        written.Add(configPath);
        return written;
    }

    private static InitKind KindOf(string tensorName) =>
        tensorName.EndsWith(".bias", StringComparison.Ordinal) ? InitKind.Zeros
        : tensorName.EndsWith("norm.weight", StringComparison.Ordinal) ? InitKind.Ones
        : InitKind.Normal;

    private static void WriteTensor(TensorSpec spec, TensorDataWriter sink, ulong seed, double std, float[][] buffers, CancellationToken cancellationToken)
    {
        long elements = spec.ElementCount;
        InitKind kind = KindOf(spec.Name);
        if (kind != InitKind.Normal)
        {
            Span<float> constant = buffers[0].AsSpan(0, (int)Math.Min(elements, buffers[0].Length));
            constant.Fill(kind == InitKind.Ones ? 1f : 0f);
            for (long done = 0; done < elements; done += constant.Length)
                sink.WriteFloat32(constant[..(int)Math.Min(constant.Length, elements - done)]);
            return;
        }

        // Double buffering: the next window is generated on the thread pool while this one is encoded and written.
        int windowElements = buffers[0].Length;
        long windowCount = (elements + windowElements - 1) / windowElements;
        Task<int>? pending = windowCount > 0 ? GenerateWindow(spec.Name, seed, std, elements, 0, buffers[0], cancellationToken) : null;
        for (long window = 0; window < windowCount; window++)
        {
            int count = pending!.GetAwaiter().GetResult();
            float[] current = buffers[window % 2];
            pending = window + 1 < windowCount
                ? GenerateWindow(spec.Name, seed, std, elements, window + 1, buffers[(window + 1) % 2], cancellationToken)
                : null;
            sink.WriteFloat32(current.AsSpan(0, count));
        }
    }

    private static Task<int> GenerateWindow(string name, ulong seed, double std, long elements, long window, float[] buffer, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            long start = window * buffer.Length;
            int count = (int)Math.Min(buffer.Length, elements - start);
            int chunks = (count + ChunkElements - 1) / ChunkElements;
            long firstChunk = start / ChunkElements;
            Parallel.For(0, chunks, new ParallelOptions { CancellationToken = cancellationToken }, c =>
            {
                int offset = c * ChunkElements;
                Span<float> chunk = buffer.AsSpan(offset, Math.Min(ChunkElements, count - offset));
                DeterministicRandom.FillNormal(chunk, DeterministicRandom.DeriveSeed(seed, name, (ulong)(firstChunk + c)), 0, std);
            });
            return count;
        }, cancellationToken);
}
