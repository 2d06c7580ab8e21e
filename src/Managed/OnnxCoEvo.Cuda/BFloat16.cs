using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// The bits of one bfloat16 (the upper half of an IEEE float): the element type of the native ABI's bf16 tensors.
/// Narrowing rounds to nearest, ties to even (<see cref="FloatConversions.ToBFloat16Bits"/>), as the kernels round.
/// </summary>
public readonly record struct BFloat16(ushort Bits)
{
    public static BFloat16 FromSingle(float value) => new(FloatConversions.ToBFloat16Bits(value));

    public float ToSingle() => FloatConversions.FromBFloat16Bits(Bits);

    /// <summary><paramref name="value"/> rounded to the nearest bfloat16, as a float.</summary>
    public static float Round(float value) => FloatConversions.FromBFloat16Bits(FloatConversions.ToBFloat16Bits(value));

    public static BFloat16[] FromSingles(ReadOnlySpan<float> values)
    {
        var result = new BFloat16[values.Length];
        for (int i = 0; i < values.Length; i++)
            result[i] = FromSingle(values[i]);
        return result;
    }

    public static float[] ToSingles(ReadOnlySpan<BFloat16> values)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
            result[i] = values[i].ToSingle();
        return result;
    }

    /// <summary>Each value rounded to bfloat16 in place (inputs of a parity test are exactly representable).</summary>
    public static void RoundInPlace(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = Round(values[i]);
    }
}
