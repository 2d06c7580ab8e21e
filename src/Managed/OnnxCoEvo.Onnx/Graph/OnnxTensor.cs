using System.Runtime.InteropServices;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Graph;

/// <summary>
/// A constant tensor for a graph (an initializer): name, element type, dims and its little-endian row-major bytes.
/// The bytes stay in managed memory until the model is saved, so big weights go straight to the external data file.
/// </summary>
public sealed record OnnxTensor
{
    public OnnxTensor(string name, TensorElementType type, long[] dims, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension {d}");
            count *= d;
        }
        long expected = count * ElementSize(type);
        if (data.Length != expected)
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes for dims [{string.Join(", ", dims)}] of {type}, expected {expected}");
        Name = name;
        Type = type;
        Dims = dims;
        Data = data;
    }

    public string Name { get; init; }
    public TensorElementType Type { get; init; }
    public long[] Dims { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    public static OnnxTensor FromFloats(string name, float[] data, params long[] dims) => new(name, TensorElementType.Float, dims, Bytes(data));
    public static OnnxTensor FromInt64(string name, long[] data, params long[] dims) => new(name, TensorElementType.Int64, dims, Bytes(data));
    public static OnnxTensor FromInt32(string name, int[] data, params long[] dims) => new(name, TensorElementType.Int32, dims, Bytes(data));

    /// <summary>A rank-1 int64 tensor (shapes, axes, starts/ends of Slice...).</summary>
    public static OnnxTensor Int64Vector(string name, params long[] values) => FromInt64(name, values, values.Length);

    /// <summary>A rank-0 tensor.</summary>
    public static OnnxTensor ScalarFloat(string name, float value) => FromFloats(name, [value]);
    public static OnnxTensor ScalarInt64(string name, long value) => FromInt64(name, [value]);

    /// <summary>Bytes per element of the fixed-size types (<see cref="TensorElementTypes.SizeInBytes"/>); others are not supported here.</summary>
    public static int ElementSize(TensorElementType type)
    {
        int size = type.SizeInBytes();
        return size > 0 ? size : throw new NotSupportedException($"tensor element type {type} has no fixed size");
    }

    /// <summary>The data viewed as elements of T (little-endian host, which is every platform .NET runs this on).</summary>
    public ReadOnlySpan<T> As<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.Span);

    private static ReadOnlyMemory<byte> Bytes<T>(T[] data) where T : unmanaged => MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
}
