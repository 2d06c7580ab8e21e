using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>
/// float &lt;-&gt; F16 / BF16 conversions. BF16 is the upper half of an IEEE float: narrowing rounds to nearest, ties to
/// even, and keeps NaN a (quiet) NaN of the same sign instead of letting rounding carry it into infinity.
/// </summary>
public static class FloatConversions
{
    private const uint BFloat16QuietBit = 0x0040;

    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return (ushort)((bits >> 16) | BFloat16QuietBit);
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    public static float FromBFloat16Bits(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static void ToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(source);
            ref ushort dst = ref MemoryMarshal.GetReference(destination);
            int step = Vector256<ushort>.Count;
            for (; i <= source.Length - step; i += step)
            {
                Vector256<uint> low = RoundToBFloat16(Vector256.LoadUnsafe(ref src, (nuint)i));
                Vector256<uint> high = RoundToBFloat16(Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<float>.Count)));
                Vector256.Narrow(low, high).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < source.Length; i++)
            destination[i] = ToBFloat16Bits(source[i]);
    }

    public static void FromBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort src = ref MemoryMarshal.GetReference(source);
            ref float dst = ref MemoryMarshal.GetReference(destination);
            int step = Vector256<ushort>.Count;
            for (; i <= source.Length - step; i += step)
            {
                (Vector256<uint> low, Vector256<uint> high) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                Vector256.ShiftLeft(low, 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
                Vector256.ShiftLeft(high, 16).AsSingle().StoreUnsafe(ref dst, (nuint)(i + Vector256<float>.Count));
            }
        }
        for (; i < source.Length; i++)
            destination[i] = FromBFloat16Bits(source[i]);
    }

    public static void ToHalf(ReadOnlySpan<float> source, Span<Half> destination)
    {
        CheckLengths(source.Length, destination.Length);
        TensorPrimitives.ConvertToHalf(source, destination);
    }

    public static void FromHalf(ReadOnlySpan<Half> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length);
        TensorPrimitives.ConvertToSingle(source, destination);
    }

    /// <summary>Encodes floats as little-endian F32, F16 or BF16 bytes; destination holds exactly source.Length elements.</summary>
    public static void EncodeFloat32(ReadOnlySpan<float> source, TensorDType dtype, Span<byte> destination)
    {
        CheckLengths(checked(source.Length * ByteSizeOfFloatType(dtype)), destination.Length);
        switch (dtype)
        {
            case TensorDType.F32: MemoryMarshal.AsBytes(source).CopyTo(destination); break;
            case TensorDType.F16: ToHalf(source, MemoryMarshal.Cast<byte, Half>(destination)); break;
            default: ToBFloat16(source, MemoryMarshal.Cast<byte, ushort>(destination)); break;
        }
    }

    /// <summary>Decodes little-endian F32, F16 or BF16 bytes into floats; destination holds exactly the element count.</summary>
    public static void DecodeToFloat32(ReadOnlySpan<byte> source, TensorDType dtype, Span<float> destination)
    {
        CheckLengths(source.Length, checked(destination.Length * ByteSizeOfFloatType(dtype)));
        switch (dtype)
        {
            case TensorDType.F32: source.CopyTo(MemoryMarshal.AsBytes(destination)); break;
            case TensorDType.F16: FromHalf(MemoryMarshal.Cast<byte, Half>(source), destination); break;
            default: FromBFloat16(MemoryMarshal.Cast<byte, ushort>(source), destination); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RoundToBFloat16(Vector256<float> values)
    {
        Vector256<uint> bits = values.AsUInt32();
        Vector256<uint> upper = Vector256.ShiftRightLogical(bits, 16);
        Vector256<uint> rounded = Vector256.ShiftRightLogical(bits + Vector256.Create(0x7FFFu) + (upper & Vector256<uint>.One), 16);
        Vector256<uint> isNaN = ~Vector256.Equals(values, values).AsUInt32();
        return Vector256.ConditionalSelect(isNaN, upper | Vector256.Create(BFloat16QuietBit), rounded);
    }

    private static int ByteSizeOfFloatType(TensorDType dtype) => dtype.IsFloat32Convertible()
        ? dtype.ByteSize()
        : throw new ArgumentException($"dtype {dtype.ToHeaderString()} is not F32, F16 or BF16", nameof(dtype));

    private static void CheckLengths(int sourceLength, int destinationLength)
    {
        if (sourceLength != destinationLength)
            throw new ArgumentException($"source has {sourceLength} elements/bytes but destination has {destinationLength}");
    }
}
