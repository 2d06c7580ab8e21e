using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OrtValueTests
{
    [Fact]
    public void FromMemory_SharesTheManagedBuffer_BothWays()
    {
        float[] data = [1, 2, 3, 4, 5, 6];
        using var value = OrtValue.FromMemory<float>(data, [2, 3]);

        Assert.Equal(TensorElementType.Float, value.ElementType);
        Assert.Equal([2L, 3], value.Shape);
        Assert.Equal(6, value.ElementCount);
        Span<float> span = value.AsSpan<float>();
        Assert.Equal(data, span.ToArray());

        span[0] = 42;
        data[5] = -1;
        Assert.Equal(42, data[0]);
        Assert.Equal(-1, value.AsSpan<float>()[5]);
    }

    [Fact]
    public void FromMemory_MapsEveryCSharpElementType()
    {
        AssertType<float>(TensorElementType.Float);
        AssertType<double>(TensorElementType.Double);
        AssertType<int>(TensorElementType.Int32);
        AssertType<long>(TensorElementType.Int64);
        AssertType<byte>(TensorElementType.UInt8);
        AssertType<sbyte>(TensorElementType.Int8);
        AssertType<short>(TensorElementType.Int16);
        AssertType<ushort>(TensorElementType.UInt16);
        AssertType<uint>(TensorElementType.UInt32);
        AssertType<ulong>(TensorElementType.UInt64);
        AssertType<bool>(TensorElementType.Bool);
        AssertType<Half>(TensorElementType.Float16);
    }

    [Fact]
    public void FromMemory_BFloat16_ThroughUShortBits()
    {
        ushort[] bits = [0x3F80, 0xC000]; // 1.0, -2.0
        using var value = OrtValue.FromMemory<ushort>(bits, [2], TensorElementType.BFloat16);

        Assert.Equal(TensorElementType.BFloat16, value.ElementType);
        Assert.Equal(bits, value.AsSpan<ushort>().ToArray());
        Assert.Throws<InvalidOperationException>(() => value.AsSpan<Half>());
        Assert.Throws<ArgumentException>(() => OrtValue.FromMemory<float>(new float[2], [2], TensorElementType.BFloat16));
    }

    [Fact]
    public void FromMemory_ShapeLengthMismatch_NamesBoth()
    {
        var ex = Assert.Throws<ArgumentException>(() => OrtValue.FromMemory<float>(new float[5], [2, 3]));

        Assert.Contains("[2,3]", ex.Message);
        Assert.Contains("6 elements", ex.Message);
        Assert.Contains("has 5", ex.Message);
        Assert.Throws<ArgumentException>(() => OrtValue.FromMemory<float>(new float[0], [-1]));
    }

    [Fact]
    public void FromMemory_EmptyTensor_RunsThroughASession()
    {
        // An empty past KV cache is the common case: [batch, heads, 0, head_size].
        using var session = OrtInferenceSession.FromBytes(TestModels.MatMulAdd(new float[OrtTestData.K * OrtTestData.N],
            new float[OrtTestData.N], OrtTestData.K, OrtTestData.N), OrtTestData.OneThread);
        using var empty = OrtValue.FromMemory<float>(Memory<float>.Empty, [0, OrtTestData.K]);
        Assert.Equal(0, empty.AsSpan<float>().Length);

        OrtValue[] outputs = session.Run([new("X", empty)], ["Y"]);
        using OrtValue y = Assert.Single(outputs);
        Assert.Equal([0L, OrtTestData.N], y.Shape);
        Assert.Equal(0, y.AsSpan<float>().Length);
    }

    [Fact]
    public void AsSpan_WrongType_Throws()
    {
        using var value = OrtValue.FromMemory<int>(new int[4], [4]);

        var ex = Assert.Throws<InvalidOperationException>(() => value.AsSpan<float>());
        Assert.Contains("Int32", ex.Message);
        Assert.Contains("Single", ex.Message);
    }

    [Fact]
    public void Allocate_GivesAWritableOrtOwnedTensor_ScalarsAndEmptyToo()
    {
        using var value = OrtValue.Allocate(TensorElementType.Int64, [3, 2]);
        Assert.Equal(TensorElementType.Int64, value.ElementType);
        Assert.Equal([3L, 2], value.Shape);
        Span<long> span = value.AsSpan<long>();
        span.Fill(7);
        Assert.All(value.AsSpan<long>().ToArray(), v => Assert.Equal(7, v));

        using var scalar = OrtValue.Allocate(TensorElementType.Float, []);
        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.AsSpan<float>().Length);

        using var empty = OrtValue.Allocate(TensorElementType.Float, [4, 0]);
        Assert.Equal(0, empty.AsSpan<float>().Length);

        Assert.Throws<ArgumentException>(() => OrtValue.Allocate(TensorElementType.String, [1]));
    }

    [Fact]
    public void Dispose_Twice_IsSafe_ThenUseThrows()
    {
        var value = OrtValue.FromMemory<float>(new float[2], [2]);
        var owned = OrtValue.Allocate(TensorElementType.Float, [2]);
        value.Dispose();
        value.Dispose();
        owned.Dispose();
        owned.Dispose();

        using var session = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 2), OrtTestData.OneThread);
        Assert.Throws<ObjectDisposedException>(() => session.Run([new("state", value), new("delta", value)], ["next"]));
    }

    private static void AssertType<T>(TensorElementType expected) where T : unmanaged
    {
        using var value = OrtValue.FromMemory<T>(new T[6], [3, 2]);
        Assert.Equal(expected, value.ElementType);
        Assert.Equal(6, value.AsSpan<T>().Length);
    }
}
