using System.Text.Json;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>
/// Writes a model's weights the way Hugging Face saves them: one model.safetensors when everything fits in one shard,
/// otherwise model-00001-of-0000N.safetensors shards plus model.safetensors.index.json.
/// </summary>
public static class SafeTensorsCheckpointWriter
{
    /// <summary>transformers' default max_shard_size "5GB" (decimal gigabytes).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>
    /// Splits tensors, in the given order, into shards of at most <paramref name="maxShardBytes"/> tensor bytes, as
    /// transformers does: a tensor that would overflow the current shard starts the next one; a tensor larger than the
    /// limit gets a shard of its own.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<TensorSpec>> PlanShards(IReadOnlyList<TensorSpec> tensors, long maxShardBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        var shards = new List<IReadOnlyList<TensorSpec>>();
        var current = new List<TensorSpec>();
        long currentBytes = 0;
        foreach (TensorSpec spec in tensors)
        {
            if (current.Count > 0 && currentBytes + spec.ByteLength > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current.Add(spec);
            currentBytes += spec.ByteLength;
        }
        if (current.Count > 0 || shards.Count == 0)
            shards.Add(current);
        return shards;
    }

    public static string ShardFileName(int shardNumber, int shardCount) => $"model-{shardNumber:D5}-of-{shardCount:D5}.safetensors";

    /// <summary>
    /// Streams a checkpoint into <paramref name="directory"/>; <paramref name="writeTensor"/> is called once per tensor as
    /// in <see cref="SafeTensorsWriter"/>. Each file is written atomically, the index last, and a stale single file or
    /// index that would shadow the new weights is removed. Returns the paths written.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata,
        Action<TensorSpec, TensorDataWriter> writeTensor, long maxShardBytes = DefaultMaxShardBytes, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writeTensor);
        SafeTensorsWriter.Layout(tensors); // checks names before anything is written
        IReadOnlyList<IReadOnlyList<TensorSpec>> shards = PlanShards(tensors, maxShardBytes);
        System.IO.Directory.CreateDirectory(directory);
        string singlePath = Path.Combine(directory, SafeTensorsCheckpoint.SingleFileName);
        string indexPath = Path.Combine(directory, SafeTensorsCheckpoint.IndexFileName);
        var sink = new TensorDataWriter(progress, cancellationToken);

        if (shards.Count == 1)
        {
            SafeTensorsWriter.Write(singlePath, tensors, metadata, writeTensor, sink);
            sink.ReportProgress();
            File.Delete(indexPath);
            return [singlePath];
        }

        var written = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string fileName = ShardFileName(i + 1, shards.Count);
            string path = Path.Combine(directory, fileName);
            SafeTensorsWriter.Write(path, shards[i], metadata, writeTensor, sink);
            written.Add(path);
            foreach (TensorSpec spec in shards[i])
                weightMap.Add(spec.Name, fileName);
        }
        sink.ReportProgress();
        long totalSize = tensors.Sum(t => t.ByteLength);
        AtomicFile.Write(indexPath, stream => WriteIndex(stream, totalSize, weightMap));
        written.Add(indexPath);
        File.Delete(singlePath); // transformers would load a leftover model.safetensors instead of the shards
        return written;
    }

    private static void WriteIndex(Stream stream, long totalSize, SortedDictionary<string, string> weightMap)
    {
        using var json = new Utf8JsonWriter(stream, SafeTensorsHeader.CompactJson with { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_size", totalSize);
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach ((string name, string file) in weightMap)
            json.WriteString(name, file);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
