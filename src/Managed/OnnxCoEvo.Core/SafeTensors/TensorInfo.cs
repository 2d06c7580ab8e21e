namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>What a writer needs to lay out one tensor: name, element type and row-major shape.</summary>
public sealed record TensorSpec(string Name, TensorDType DType, IReadOnlyList<long> Shape)
{
    public long ElementCount => TensorShape.ElementCount(Shape);

    public long ByteLength => checked(ElementCount * DType.ByteSize());

    // Value equality over the shape too (a record compares list references otherwise).
    public bool Equals(TensorSpec? other) =>
        other is not null && Name == other.Name && DType == other.DType && Shape.SequenceEqual(other.Shape);

    public override int GetHashCode() => HashCode.Combine(Name, DType, Shape.Count);

    public override string ToString() => $"{Name} {DType.ToHeaderString()}{TensorShape.Format(Shape)}";
}

/// <summary>One tensor of a safetensors file: <see cref="Begin"/>/<see cref="End"/> are offsets into the byte buffer after the header.</summary>
public sealed record TensorInfo(string Name, TensorDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ElementCount => TensorShape.ElementCount(Shape);

    public long ByteLength => End - Begin;

    public TensorSpec Spec => new(Name, DType, Shape);

    public bool Equals(TensorInfo? other) =>
        other is not null && Name == other.Name && DType == other.DType && Begin == other.Begin && End == other.End
        && Shape.SequenceEqual(other.Shape);

    public override int GetHashCode() => HashCode.Combine(Name, DType, Begin, End);

    public override string ToString() => $"{Name} {DType.ToHeaderString()}{TensorShape.Format(Shape)} [{Begin}, {End})";
}

public static class TensorShape
{
    /// <summary>Product of the dimensions (1 for a 0-rank tensor); throws on overflow or a negative dimension.</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        if (!TryElementCount(shape, out long count))
            throw new ArgumentException($"shape {Format(shape)} has a negative dimension or overflows 64 bits", nameof(shape));
        return count;
    }

    public static bool TryElementCount(IReadOnlyList<long> shape, out long count)
    {
        ArgumentNullException.ThrowIfNull(shape);
        count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0)
                return false;
            try { count = checked(count * dim); }
            catch (OverflowException) { return false; }
        }
        return true;
    }

    /// <summary>Product of int dimensions (the in-memory tensors' shapes); throws on overflow or a negative dimension.</summary>
    public static long ElementCount(IReadOnlyList<int> shape) => ElementCount(ToLong(shape));

    public static long[] ToLong(IReadOnlyList<int> shape)
    {
        var dims = new long[shape.Count];
        for (int i = 0; i < dims.Length; i++) dims[i] = shape[i];
        return dims;
    }

    /// <summary>"[8, 32]", as error messages write shapes.</summary>
    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    public static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";
}
