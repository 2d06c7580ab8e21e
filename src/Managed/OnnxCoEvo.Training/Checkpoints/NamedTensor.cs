namespace OnnxCoEvo.Training.Checkpoints;

/// <summary>A named fp32 tensor as checkpoints and adapters store it: row-major values, last dimension contiguous.</summary>
public sealed record NamedTensor
{
    public NamedTensor(string name, int[] shape, float[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (ShapeText.ElementCount(shape) != values.Length)
            throw new ArgumentException($"tensor '{name}': shape {ShapeText.Format(shape)} holds {ShapeText.ElementCount(shape)} values but {values.Length} were given");
        Name = name;
        Shape = shape;
        Values = values;
    }

    public string Name { get; }

    public int[] Shape { get; }

    public float[] Values { get; }

    public long[] LongShape => ShapeText.ToLong(Shape);

    public override string ToString() => $"{Name} {ShapeText.Format(Shape)}";
}

/// <summary>Shapes as error messages write them: "[8, 32]".</summary>
internal static class ShapeText
{
    public static string Format(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    public static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    public static long[] ToLong(int[] shape) => Array.ConvertAll(shape, d => (long)d);

    public static long ElementCount(IReadOnlyList<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
            count *= d < 0 ? throw new ArgumentException($"shape {Format(shape)} has a negative dimension") : d;
        return count;
    }
}
