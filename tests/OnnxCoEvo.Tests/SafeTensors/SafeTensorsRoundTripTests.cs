using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Tests.SafeTensors;

public class SafeTensorsRoundTripTests
{
    private static byte[] Pattern(int length, int salt) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + salt)).ToArray();

    [Fact]
    public void EveryDType_RoundTrips_IncludingScalarsAndEmptyTensors()
    {
        using var dir = new TempDirectory();
        string path = dir.File("all.safetensors");
        var tensors = new List<TensorData>();
        int salt = 0;
        foreach (TensorDType dtype in Enum.GetValues<TensorDType>())
        {
            string name = dtype.ToHeaderString().ToLowerInvariant();
            tensors.Add(TensorData.FromBytes(name + ".matrix", dtype, [2, 3], Pattern(6 * dtype.ByteSize(), salt++)));
            tensors.Add(TensorData.FromBytes(name + ".scalar", dtype, [], Pattern(dtype.ByteSize(), salt++)));
            tensors.Add(TensorData.FromBytes(name + ".empty", dtype, [4, 0, 2], Array.Empty<byte>()));
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode + <html> & 'quotes'" };
        SafeTensorsWriter.Write(path, tensors, metadata);

        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal(tensors.Count, file.Names.Count);
        Assert.Equal(metadata, file.Metadata);
        foreach (TensorData expected in tensors)
        {
            TensorInfo info = file.Get(expected.Spec.Name);
            Assert.Equal(expected.Spec, info.Spec);
            Assert.Equal(expected.Spec.ElementCount, info.ElementCount);
            Assert.Equal(expected.Bytes.ToArray(), file.GetBytes(expected.Spec.Name).ToArray());
            Assert.Equal(0, info.Begin % expected.Spec.DType.ByteSize()); // layout keeps every tensor aligned
        }
        Assert.Equal(1, file.Get("f64.scalar").ElementCount);
        Assert.Equal(0, file.Get("u8.empty").ByteLength);
    }

    [Fact]
    public void Header_IsPaddedWithSpacesToMultipleOf8_AndTensorsAreOrderedBySizeThenName()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.safetensors");
        SafeTensorsWriter.Write(path,
        [
            TensorData.FromBytes("b", TensorDType.U8, [3], new byte[] { 1, 2, 3 }),
            TensorData.FromBytes("a", TensorDType.U8, [1], new byte[] { 9 }),
            TensorData.FromBytes("z", TensorDType.F64, [1], new byte[8]),
        ]);
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.StartsWith("{", header);
        Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd().Length);
        using JsonDocument json = JsonDocument.Parse(header);
        Assert.Equal(["z", "a", "b"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(8 + headerLength + 12, bytes.Length);
        Assert.Equal(9, bytes[8 + headerLength + 8]);
    }

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Floats_RoundTripThroughEachFloatDType(TensorDType dtype)
    {
        using var dir = new TempDirectory();
        string path = dir.File("f.safetensors");
        float[] values = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i) * 3).ToArray();
        SafeTensorsWriter.Write(path, [TensorData.FromFloat32("w", [10, 100], values, dtype)]);

        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal(dtype, file.Get("w").DType);
        float[] read = file.ReadAsFloat32("w");
        var copied = new float[values.Length];
        file.CopyAsFloat32("w", copied);
        Assert.Equal(read, copied);
        float tolerance = dtype switch { TensorDType.F32 => 0, TensorDType.F16 => 3 * 1e-3f, _ => 3 * 8e-3f };
        for (int i = 0; i < values.Length; i++)
            Assert.InRange(read[i] - values[i], -tolerance, tolerance);
        if (dtype == TensorDType.BF16)
            Assert.Equal(FloatConversions.ToBFloat16Bits(values[7]), BitConverter.ToUInt16(file.GetBytes("w").Slice(14, 2)));
    }

    [Fact]
    public void StreamingWrite_CallsBackInLayoutOrder_ChecksByteCounts_AndReportsProgress()
    {
        using var dir = new TempDirectory();
        string path = dir.File("s.safetensors");
        TensorSpec[] specs = [new("b", TensorDType.BF16, [3]), new("a", TensorDType.F32, [2, 2])];
        var order = new List<string>();
        var reports = new List<long>();
        SafeTensorsWriter.Write(path, specs, null, (spec, sink) =>
        {
            order.Add(spec.Name);
            Assert.Equal(spec, sink.Tensor);
            float[] values = Enumerable.Repeat(1.5f, (int)spec.ElementCount).ToArray();
            sink.WriteFloat32(values.AsSpan(0, 1));
            sink.WriteFloat32(values.AsSpan(1));
            Assert.Equal(0, sink.BytesRemaining);
        }, new SynchronousProgress(reports));

        Assert.Equal(["a", "b"], order);
        Assert.Equal(22, reports[^1]);
        using SafeTensorsFile file = SafeTensorsFile.Open(path);
        Assert.Equal([1.5f, 1.5f, 1.5f], file.ReadAsFloat32("b"));
        Assert.Empty(file.Metadata);

        var tooFew = Assert.Throws<InvalidOperationException>(() =>
            SafeTensorsWriter.Write(dir.File("bad.safetensors"), specs, null, (spec, sink) => sink.WriteBytes(new byte[1])));
        Assert.Contains("'a'", tooFew.Message);
        Assert.False(File.Exists(dir.File("bad.safetensors"))); // atomic: nothing left behind
        Assert.Throws<InvalidOperationException>(() =>
            SafeTensorsWriter.Write(dir.File("bad.safetensors"), specs, null, (spec, sink) => sink.WriteBytes(new byte[100])));
    }

    [Fact]
    public void Reader_GuardsNamesRangesDtypesAndDisposal()
    {
        using var dir = new TempDirectory();
        string path = dir.File("g.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.FromBytes("ids", TensorDType.I64, [2], new byte[16]), TensorData.FromFloat32("w", [4], [1, 2, 3, 4])]);
        var file = SafeTensorsFile.Open(path);
        Assert.True(file.TryGet("w", out TensorInfo? info));
        Assert.Equal(16, info.ByteLength);
        Assert.False(file.TryGet("nope", out _));
        Assert.Contains(path, Assert.Throws<KeyNotFoundException>(() => file.Get("nope")).Message);
        Assert.Equal(BitConverter.GetBytes(3f), file.GetBytes("w", 8, 4).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => file.GetBytes("w", 8, 9).Length);
        Assert.Throws<ArgumentException>(() => file.CopyAsFloat32("w", new float[3]));
        var dtypeError = Assert.Throws<Core.DataFormatException>(() => file.ReadAsFloat32("ids"));
        Assert.Equal("tensor 'ids' field dtype", dtypeError.Position);

        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetBytes("w").Length);
        Assert.Throws<ObjectDisposedException>(() => file.ReadAsFloat32("w"));
    }
}
