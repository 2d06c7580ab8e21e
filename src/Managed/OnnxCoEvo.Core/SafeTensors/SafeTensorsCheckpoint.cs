using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>
/// The weights of a Hugging Face model directory as one set of named tensors: either a single model.safetensors, or
/// model.safetensors.index.json whose "weight_map" sends each tensor name to a shard file beside it. Like transformers,
/// a model.safetensors is preferred when both exist.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafeTensorsFile> _fileOf;
    private readonly List<SafeTensorsFile> _files;

    private SafeTensorsCheckpoint(string directory, string? indexPath, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> fileOf, IReadOnlyList<string> names)
    {
        Directory = directory;
        IndexPath = indexPath;
        _files = files;
        _fileOf = fileOf;
        Names = names;
    }

    public string Directory { get; }

    /// <summary>The index file when the checkpoint is sharded; null for a single file.</summary>
    public string? IndexPath { get; }

    /// <summary>The files holding the tensors (one, or the shards in name order).</summary>
    public IReadOnlyList<SafeTensorsFile> Files => _files;

    /// <summary>All tensor names: file order for a single file, the index's sorted order for shards.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens a model directory, or a single .safetensors file given by path.</summary>
    public static SafeTensorsCheckpoint Open(string path)
    {
        if (File.Exists(path))
            return OpenSingle(Path.GetDirectoryName(Path.GetFullPath(path))!, path);
        string single = Path.Combine(path, SingleFileName);
        if (File.Exists(single))
            return OpenSingle(path, single);
        string index = Path.Combine(path, IndexFileName);
        if (File.Exists(index))
            return OpenSharded(path, index);
        throw new FileNotFoundException($"{path}: no {SingleFileName} or {IndexFileName} (is this a Hugging Face model directory?)", single);
    }

    private static SafeTensorsCheckpoint OpenSingle(string directory, string filePath)
    {
        SafeTensorsFile file = SafeTensorsFile.Open(filePath);
        return new SafeTensorsCheckpoint(directory, null, [file], file.Names.ToDictionary(n => n, _ => file, StringComparer.Ordinal), file.Names);
    }

    private static SafeTensorsCheckpoint OpenSharded(string directory, string indexPath)
    {
        SortedDictionary<string, string> weightMap = ReadWeightMap(indexPath);
        var opened = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach ((string name, string shard) in weightMap)
            {
                string position = $"$.weight_map[\"{name}\"]";
                if (!opened.TryGetValue(shard, out SafeTensorsFile? file))
                {
                    if (shard != Path.GetFileName(shard) || shard is "." or "..")
                        throw new DataFormatException(indexPath, position, $"shard '{shard}' is not a plain file name in the model directory");
                    string shardPath = Path.Combine(directory, shard);
                    if (!File.Exists(shardPath))
                        throw new DataFormatException(indexPath, position, $"names shard file '{shard}', which does not exist in {directory}");
                    file = SafeTensorsFile.Open(shardPath);
                    opened.Add(shard, file);
                }
                if (!file.Contains(name))
                    throw new DataFormatException(indexPath, position, $"shard file '{shard}' has no tensor '{name}'");
                fileOf.Add(name, file);
            }
            List<SafeTensorsFile> files = opened.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList();
            return new SafeTensorsCheckpoint(directory, indexPath, files, fileOf, weightMap.Keys.ToArray());
        }
        catch
        {
            foreach (SafeTensorsFile file in opened.Values)
                file.Dispose();
            throw;
        }
    }

    private static SortedDictionary<string, string> ReadWeightMap(string indexPath)
    {
        using JsonDocument document = new JsonSource(indexPath).Parse(File.ReadAllBytes(indexPath), JsonSyntaxErrorFormat.FileByte);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(indexPath, "$", $"is a JSON {root.ValueKind}, expected an object");
        if (!root.TryGetProperty("weight_map", out JsonElement map))
            throw new DataFormatException(indexPath, "$.weight_map", "missing");
        if (map.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(indexPath, "$.weight_map", $"is a JSON {map.ValueKind}, expected an object of tensor name -> shard file");
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            string position = $"$.weight_map[\"{entry.Name}\"]";
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new DataFormatException(indexPath, position, $"is a JSON {entry.Value.ValueKind}, expected a shard file name");
            if (!weightMap.TryAdd(entry.Name, entry.Value.GetString()!))
                throw new DataFormatException(indexPath, position, "tensor appears twice in the weight map");
        }
        return weightMap;
    }

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    public bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info)
    {
        info = null;
        return _fileOf.TryGetValue(name, out SafeTensorsFile? file) && file.TryGet(name, out info);
    }

    public TensorInfo Get(string name) => FileOf(name).Get(name);

    /// <summary>The file that holds a tensor.</summary>
    public SafeTensorsFile FileOf(string name) =>
        _fileOf.TryGetValue(name, out SafeTensorsFile? file) ? file : throw new KeyNotFoundException($"{IndexPath ?? Directory}: no tensor named '{name}'");

    /// <inheritdoc cref="SafeTensorsFile.GetBytes(string)"/>
    public ReadOnlySpan<byte> GetBytes(string name) => FileOf(name).GetBytes(name);

    public float[] ReadAsFloat32(string name) => FileOf(name).ReadAsFloat32(name);

    public void CopyAsFloat32(string name, Span<float> destination) => FileOf(name).CopyAsFloat32(name, destination);

    public void Dispose()
    {
        foreach (SafeTensorsFile file in _files)
            file.Dispose();
    }
}
