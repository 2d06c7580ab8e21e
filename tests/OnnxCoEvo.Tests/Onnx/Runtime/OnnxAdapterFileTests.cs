using System.Buffers.Binary;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OnnxAdapterFileTests
{
    private static OnnxAdapterParameter[] Mixed() =>
    [
        new("layers.0.q.lora_A", TensorElementType.Float, [4, 2], TestModels.FloatBytes(OrtTestData.Normal(8, 41))),
        new("ä/odd name", TensorElementType.BFloat16, [3], new byte[] { 1, 2, 3, 4, 5, 6 }),
        new("empty", TensorElementType.Float, [4, 0], ReadOnlyMemory<byte>.Empty),
        new("scalar", TensorElementType.Int64, [], BitConverter.GetBytes(-5L)),
        new("mask", TensorElementType.Bool, [5], new byte[] { 1, 0, 1, 1, 0 }),
    ];

    [Fact]
    public void WriteThenRead_RoundTripsEveryField()
    {
        OnnxAdapterParameter[] written = Mixed();
        byte[] bytes = OnnxAdapterFile.Write(written, adapterVersion: 3, modelVersion: 7);

        Assert.Equal("TORT"u8.ToArray(), bytes[4..8]);
        var (adapterVersion, modelVersion, read) = OnnxAdapterFile.ReadWithVersions(bytes);
        Assert.Equal(3, adapterVersion);
        Assert.Equal(7, modelVersion);
        Assert.Equal(written.Length, read.Count);
        for (int i = 0; i < written.Length; i++)
        {
            Assert.Equal(written[i].Name, read[i].Name);
            Assert.Equal(written[i].Type, read[i].Type);
            Assert.Equal(written[i].Dims, read[i].Dims);
            Assert.Equal(written[i].Data.ToArray(), read[i].Data.ToArray());
        }
    }

    [Fact]
    public void RawData_Is8Aligned_InTheFile()
    {
        byte[] bytes = OnnxAdapterFile.Write(Mixed());

        foreach (OnnxAdapterParameter p in OnnxAdapterFile.Read(bytes))
        {
            if (!p.Data.IsEmpty && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(p.Data, out ArraySegment<byte> segment))
            {
                Assert.Equal(0, segment.Offset % 8);
            }
        }
    }

    [Fact]
    public void SaveAndReadPath_RoundTrip_NoParametersToo()
    {
        using var dir = new TempDirectory();
        string path = dir.File("sub/empty.onnx_adapter");
        OnnxAdapterFile.Save(path, []);

        Assert.Empty(OnnxAdapterFile.Read(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left behind
    }

    [Fact]
    public void Write_RejectsBadParameters_NamingThem()
    {
        byte[] four = new byte[4];
        Assert.Contains("'a' occurs twice", Assert.Throws<ArgumentException>(() => OnnxAdapterFile.Write(
            [new("a", TensorElementType.Float, [1], four), new("a", TensorElementType.Float, [1], four)])).Message);
        Assert.Contains("'w' has 4 data bytes, but dims [2] of Float need 8", Assert.Throws<ArgumentException>(() =>
            OnnxAdapterFile.Write([new("w", TensorElementType.Float, [2], four)])).Message);
        Assert.Contains("String", Assert.Throws<ArgumentException>(() =>
            OnnxAdapterFile.Write([new("s", TensorElementType.String, [1], four)])).Message);
        Assert.Throws<ArgumentException>(() => OnnxAdapterFile.Write([new("", TensorElementType.Float, [1], four)]));
        Assert.Throws<ArgumentException>(() => OnnxAdapterFile.Write([new("n", TensorElementType.Float, [-1], four)]));
    }

    [Fact]
    public void Read_CorruptFiles_NameTheFileAndTheFault()
    {
        using var dir = new TempDirectory();
        byte[] good = OnnxAdapterFile.Write(Mixed());

        AssertCorrupt(dir, good[..6], "byte 0", "at least an 8-byte header");

        byte[] identifier = (byte[])good.Clone();
        identifier[4] = (byte)'X';
        AssertCorrupt(dir, identifier, "byte 4", "'XORT', expected 'TORT'");

        // The Adapter table starts right after its 12-byte vtable at byte 8; format_version is its first field.
        byte[] version = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(version.AsSpan(24), 2);
        AssertCorrupt(dir, version, "byte 20", "format_version is 2");

        AssertCorrupt(dir, good[..(good.Length - 16)], "", "past the end");

        byte[] wrongLength = (byte[])good.Clone();
        int rawCount = RawCountPosition(good, parameterIndex: 0);
        BinaryPrimitives.WriteUInt32LittleEndian(wrongLength.AsSpan(rawCount), 31);
        AssertCorrupt(dir, wrongLength, "parameters[0] ('layers.0.q.lora_A') field raw_data", "31 bytes, but dims [4,2] of Float need 32");

        byte[] badRoot = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badRoot, 1_000_000);
        AssertCorrupt(dir, badRoot, "byte 0", "root table offset points to byte 1000000");
    }

    private static void AssertCorrupt(TempDirectory dir, byte[] bytes, string position, string problem)
    {
        string path = dir.File("corrupt.onnx_adapter");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<DataFormatException>(() => OnnxAdapterFile.Read(path));
        Assert.Equal(path, ex.FilePath);
        Assert.StartsWith(position, ex.Position);
        Assert.Contains(problem, ex.Problem);
    }

    /// <summary>Where the u32 byte count of a parameter's raw_data sits: just before its payload in the buffer.</summary>
    private static int RawCountPosition(byte[] bytes, int parameterIndex)
    {
        OnnxAdapterParameter p = OnnxAdapterFile.Read(bytes)[parameterIndex];
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(p.Data, out ArraySegment<byte> segment));
        return segment.Offset - 4;
    }
}
