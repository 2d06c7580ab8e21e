namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>Sizes of tensor element types and their C# counterparts.</summary>
public static class TensorElementTypes
{
    /// <summary>Bytes per element; 0 for types without a fixed-size dense layout (Undefined, String).</summary>
    public static int SizeInBytes(this TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        TensorElementType.UInt8 or TensorElementType.Int8 or TensorElementType.Bool => 1,
        TensorElementType.UInt16 or TensorElementType.Int16 or TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        _ => 0,
    };

    /// <summary>The element type a C# type stands for (Half: Float16); null for types with no natural one. BFloat16 has
    /// no C# type: use ushort (raw bits) with an explicit <see cref="TensorElementType.BFloat16"/>.</summary>
    public static TensorElementType? Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? TensorElementType.Float
        : typeof(T) == typeof(double) ? TensorElementType.Double
        : typeof(T) == typeof(int) ? TensorElementType.Int32
        : typeof(T) == typeof(long) ? TensorElementType.Int64
        : typeof(T) == typeof(byte) ? TensorElementType.UInt8
        : typeof(T) == typeof(sbyte) ? TensorElementType.Int8
        : typeof(T) == typeof(short) ? TensorElementType.Int16
        : typeof(T) == typeof(ushort) ? TensorElementType.UInt16
        : typeof(T) == typeof(uint) ? TensorElementType.UInt32
        : typeof(T) == typeof(ulong) ? TensorElementType.UInt64
        : typeof(T) == typeof(bool) ? TensorElementType.Bool
        : typeof(T) == typeof(Half) ? TensorElementType.Float16
        : null;

    /// <summary>Whether T may view elements of <paramref name="type"/>: its own type, or 16-bit integers as the raw
    /// bits of Float16/BFloat16.</summary>
    public static bool CanView<T>(TensorElementType type) where T : unmanaged
    {
        TensorElementType? natural = Of<T>();
        if (natural == type)
        {
            return true;
        }

        bool rawBits = typeof(T) == typeof(ushort) || typeof(T) == typeof(short);
        return rawBits && type is TensorElementType.Float16 or TensorElementType.BFloat16;
    }
}
