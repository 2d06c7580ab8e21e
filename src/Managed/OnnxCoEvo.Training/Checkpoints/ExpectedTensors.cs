using OnnxCoEvo.Core;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Training.Checkpoints;

/// <summary>
/// The exact set of tensors a safetensors file must hold (names and shapes), read as fp32. Every fault is a
/// <see cref="DataFormatException"/> naming the file and the tensor, and all tensors are checked before any is read.
/// </summary>
internal sealed record ExpectedTensors(IReadOnlyList<(string Name, long[] Shape)> Tensors)
{
    /// <summary>Whether F16 and BF16 tensors are accepted (converted to fp32); otherwise only F32.</summary>
    public bool AcceptsHalfPrecision { get; init; }

    /// <summary>What is wrong with a tensor that is not expected, given its name: "is not a trainable parameter of the model".</summary>
    public Func<string, string> DescribeUnknown { get; init; } = _ => "is not expected in this file";

    /// <summary>Appended to the problem of a missing tensor.</summary>
    public string MissingNote { get; init; } = "";

    /// <summary>Appended to the problem of a wrong shape.</summary>
    public string ShapeNote { get; init; } = "";

    public static string TensorPosition(string name) => $"tensor '{name}'";

    /// <summary>Checks every tensor of <paramref name="file"/> against the expected set, then reads them in expected order.</summary>
    public float[][] ReadFrom(SafeTensorsFile file)
    {
        var expectedNames = Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        if (file.Names.FirstOrDefault(name => !expectedNames.Contains(name)) is { } unknown)
            throw new DataFormatException(file.FilePath, TensorPosition(unknown), DescribeUnknown(unknown));
        foreach ((string name, long[] shape) in Tensors)
        {
            if (!file.TryGet(name, out TensorInfo? info))
                throw new DataFormatException(file.FilePath, TensorPosition(name), "missing" + MissingNote);
            if (!(info.DType == TensorDType.F32 || (AcceptsHalfPrecision && info.DType.IsFloat32Convertible())))
                throw new DataFormatException(file.FilePath, TensorPosition(name) + " field dtype",
                    $"is {info.DType.ToHeaderString()}; expected {(AcceptsHalfPrecision ? "F32, F16 or BF16" : "F32")}");
            if (!info.Shape.SequenceEqual(shape))
                throw new DataFormatException(file.FilePath, TensorPosition(name),
                    $"has shape {TensorShape.Format(info.Shape)} but the model needs {TensorShape.Format(shape)}{ShapeNote}");
        }
        return Tensors.Select(t => file.ReadAsFloat32(t.Name)).ToArray();
    }

    /// <summary>Opens <paramref name="path"/> and reads the expected tensors; the file's metadata goes to <paramref name="inspect"/> first.</summary>
    public float[][] ReadFrom(string path, Action<SafeTensorsFile>? inspect = null)
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        inspect?.Invoke(file);
        return ReadFrom(file);
    }

    /// <summary>Writes fp32 tensors (atomically, via <see cref="SafeTensorsWriter"/>).</summary>
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        TensorSpec[] specs = tensors.Select(t => new TensorSpec(t.Name, TensorDType.F32, t.LongShape)).ToArray();
        SafeTensorsWriter.Write(path, specs, metadata, (spec, sink) => sink.WriteFloat32(byName[spec.Name].Values));
    }
}
