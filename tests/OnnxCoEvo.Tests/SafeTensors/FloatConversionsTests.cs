using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Tests.SafeTensors;

public class FloatConversionsTests
{
    // (float bits, expected BF16 bits), worked out by hand from round-to-nearest-even on the low 16 bits.
    public static readonly TheoryData<uint, ushort> BFloat16Cases = new()
    {
        { 0x3F800000, 0x3F80 }, // 1.0 exact
        { 0x3F807FFF, 0x3F80 }, // just below half an ulp: down
        { 0x3F808000, 0x3F80 }, // exact tie, 0x3F80 is even: down
        { 0x3F808001, 0x3F81 }, // just above half: up
        { 0x3F818000, 0x3F82 }, // exact tie, 0x3F81 is odd: up to even
        { 0x3FFFFFFF, 0x4000 }, // 1.99999988 carries into the exponent: 2.0
        { 0x40490FDB, 0x4049 }, // pi -> 3.140625
        { 0x80000000, 0x8000 }, // -0
        { 0x00000001, 0x0000 }, // smallest subnormal rounds to +0
        { 0x00018000, 0x0002 }, // subnormal tie, odd: up
        { 0x7F7FFFFF, 0x7F80 }, // float.MaxValue overflows to +inf, as RNE requires
        { 0x7F800000, 0x7F80 }, // +inf
        { 0xFF800000, 0xFF80 }, // -inf
        { 0x7FC00000, 0x7FC0 }, // quiet NaN
        { 0x7F800001, 0x7FC0 }, // NaN with payload only in the low bits stays NaN (truncation would give inf)
        { 0xFF800001, 0xFFC0 }, // negative NaN keeps its sign
    };

    [Theory]
    [MemberData(nameof(BFloat16Cases))]
    public void ToBFloat16Bits_RoundsToNearestEven(uint floatBits, ushort expected)
    {
        Assert.Equal(expected, FloatConversions.ToBFloat16Bits(BitConverter.UInt32BitsToSingle(floatBits)));
    }

    [Fact]
    public void VectorPath_MatchesScalarRule_AtEveryLane()
    {
        uint[] patterns = BFloat16Cases.Select(row => (uint)row[0]).ToArray();
        // 37 elements: two full 16-lane vectors plus a scalar tail, each pattern landing in several lanes.
        float[] source = Enumerable.Range(0, 37).Select(i => BitConverter.UInt32BitsToSingle(patterns[i % patterns.Length])).ToArray();
        var bf16 = new ushort[source.Length];
        FloatConversions.ToBFloat16(source, bf16);
        for (int i = 0; i < source.Length; i++)
            Assert.Equal(FloatConversions.ToBFloat16Bits(source[i]), bf16[i]);

        var back = new float[source.Length];
        FloatConversions.FromBFloat16(bf16, back);
        for (int i = 0; i < source.Length; i++)
            Assert.Equal((uint)bf16[i] << 16, BitConverter.SingleToUInt32Bits(back[i]));
    }

    [Fact]
    public void BFloat16_RoundTripsEveryBFloat16Value()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float value = FloatConversions.FromBFloat16Bits((ushort)bits);
            ushort again = FloatConversions.ToBFloat16Bits(value);
            if (float.IsNaN(value))
                Assert.True(float.IsNaN(FloatConversions.FromBFloat16Bits(again)));
            else
                Assert.Equal((ushort)bits, again);
        }
    }

    [Fact]
    public void EncodeDecode_F16_UsesIeeeHalf()
    {
        float[] values = [0f, 1f, -2.5f, 65504f, 1e-3f, float.PositiveInfinity];
        var bytes = new byte[values.Length * 2];
        FloatConversions.EncodeFloat32(values, TensorDType.F16, bytes);
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)(-2.5f)), BitConverter.ToUInt16(bytes, 4));
        var decoded = new float[values.Length];
        FloatConversions.DecodeToFloat32(bytes, TensorDType.F16, decoded);
        for (int i = 0; i < values.Length; i++)
            Assert.Equal((float)(Half)values[i], decoded[i]);
    }

    [Fact]
    public void Encode_RejectsNonFloatDType()
    {
        Assert.Throws<ArgumentException>(() => FloatConversions.EncodeFloat32([1f], TensorDType.I32, new byte[4]));
    }
}
