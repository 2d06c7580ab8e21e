using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Core.Models;

/// <summary>What <see cref="ModelInspector.Inspect"/> found in a model directory.</summary>
public sealed record ModelReport
{
    public required string Directory { get; init; }

    public required ModelConfig Config { get; init; }

    /// <summary>The weight files (a single model.safetensors or the shards), as file names.</summary>
    public required IReadOnlyList<string> WeightFiles { get; init; }

    /// <summary>Size of the weight files on disk, headers included.</summary>
    public required long WeightFileBytes { get; init; }

    /// <summary>Parameters the config implies (<see cref="ModelConfig.ParameterCount"/>).</summary>
    public required long ConfigParameterCount { get; init; }

    /// <summary>Elements of all tensors actually in the files.</summary>
    public required long FileElementCount { get; init; }

    public required int TensorCount { get; init; }

    /// <summary>Tensor bytes per dtype.</summary>
    public required IReadOnlyDictionary<TensorDType, long> BytesByDType { get; init; }

    /// <summary>Tensors the architecture needs that are missing or have the wrong shape or a non-float dtype.</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Tensors in the files that the architecture does not use (e.g. a saved copy of a tied lm_head).</summary>
    public required IReadOnlyList<string> UnexpectedTensors { get; init; }

    public bool IsValid => Problems.Count == 0;
}

/// <summary>Loads config.json and the checkpoint of a model directory and checks one against the other.</summary>
public static class ModelInspector
{
    public static ModelReport Inspect(string modelDirectory)
    {
        ModelConfig config = ModelConfig.Load(Path.Combine(modelDirectory, ModelConfig.FileName));
        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(modelDirectory);

        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, long[] shape) in config.TensorLayout())
        {
            expected.Add(name);
            if (!checkpoint.TryGet(name, out TensorInfo? info))
                problems.Add($"missing tensor '{name}' (expected shape {TensorShape.Format(shape)})");
            else if (!info.Shape.SequenceEqual(shape))
                problems.Add($"tensor '{name}' has shape {TensorShape.Format(info.Shape)}, expected {TensorShape.Format(shape)}");
            else if (!info.DType.IsFloat32Convertible())
                problems.Add($"tensor '{name}' has dtype {info.DType.ToHeaderString()}; weights must be F32, F16 or BF16");
        }

        var bytesByDType = new SortedDictionary<TensorDType, long>();
        long elements = 0;
        foreach (string name in checkpoint.Names)
        {
            TensorInfo info = checkpoint.Get(name);
            elements += info.ElementCount;
            bytesByDType[info.DType] = bytesByDType.GetValueOrDefault(info.DType) + info.ByteLength;
        }

        return new ModelReport
        {
            Directory = modelDirectory,
            Config = config,
            WeightFiles = checkpoint.Files.Select(f => Path.GetFileName(f.FilePath)).ToArray(),
            WeightFileBytes = checkpoint.Files.Sum(f => f.FileLength),
            ConfigParameterCount = config.ParameterCount,
            FileElementCount = elements,
            TensorCount = checkpoint.Names.Count,
            BytesByDType = bytesByDType,
            Problems = problems,
            UnexpectedTensors = checkpoint.Names.Where(n => !expected.Contains(n)).ToArray(),
        };
    }
}
