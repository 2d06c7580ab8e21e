using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Training.Checkpoints;

/// <summary>A named fp32 tensor as checkpoints and adapters store it: row-major values, last dimension contiguous.</summary>
public sealed record NamedTensor
{
    public NamedTensor(string name, int[] shape, float[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (TensorShape.ElementCount(shape) != values.Length)
            throw new ArgumentException($"tensor '{name}': shape {TensorShape.Format(shape)} holds {TensorShape.ElementCount(shape)} values but {values.Length} were given");
        Name = name;
        Shape = shape;
        Values = values;
    }

    public string Name { get; }

    public int[] Shape { get; }

    public float[] Values { get; }

    public long[] LongShape => TensorShape.ToLong(Shape);

    public override string ToString() => $"{Name} {TensorShape.Format(Shape)}";
}
