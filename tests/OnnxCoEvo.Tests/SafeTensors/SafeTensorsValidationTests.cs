using System.Buffers.Binary;
using System.Text;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Tests.SafeTensors;

/// <summary>Each malformed file must fail with a <see cref="DataFormatException"/> that names the file and the position.</summary>
public sealed class SafeTensorsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes length prefix + header + buffer by hand, so any rule can be broken.</summary>
    private string WriteRaw(string header, int bufferBytes, ulong? headerLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + bufferBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        string path = _dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static DataFormatException AssertRejected(string path, string position, string problemFragment)
    {
        var error = Assert.Throws<DataFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal(path, error.FilePath);
        Assert.Equal(position, error.Position);
        Assert.Contains(problemFragment, error.Problem);
        Assert.StartsWith($"{path}: {position}: ", error.Message);
        return error;
    }

    private static string Tensor(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void FileShorterThan8Bytes(int length)
    {
        string path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        AssertRejected(path, "byte 0", $"file is {length} bytes");
    }

    [Fact]
    public void HeaderLengthBeyondFile() =>
        AssertRejected(WriteRaw("{}", 0, headerLength: 1000), "byte 0", "runs past the end of the file (10 bytes)");

    [Fact]
    public void HeaderLengthOverFormatLimit() =>
        AssertRejected(WriteRaw("{}", 0, headerLength: 100_000_001), "byte 0", "exceeds the format's limit");

    [Fact]
    public void HeaderNotJson() => AssertRejected(WriteRaw("{\"a\": nope}", 0), "byte 15", "not valid JSON"); // the reader stops at the "o" of "nope"

    [Fact]
    public void HeaderNotAnObject() => AssertRejected(WriteRaw("[1, 2]  ", 0), "byte 8", "expected an object");

    [Fact]
    public void OverlappingOffsets() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("model.layers.0.q_proj.weight", "F32", "[2]", 4, 12) + "}", 12),
            "tensor 'model.layers.0.q_proj.weight' field data_offsets", "overlaps tensor 'a'");

    [Fact]
    public void HoleBetweenTensors() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("b", "F32", "[2]", 12, 20) + "}", 20),
            "tensor 'b' field data_offsets", "hole of 4 bytes");

    [Fact]
    public void HoleAtStartOfBuffer() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "U8", "[2]", 2, 4) + "}", 4), "tensor 'a' field data_offsets", "at the start of the buffer");

    [Fact]
    public void ByteSizeNotDTypeTimesShape() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "F32", "[3]", 0, 8) + "}", 8), "tensor 'a' field data_offsets", "needs 12");

    [Fact]
    public void EndBeforeBegin() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "U8", "[0]", 4, 0) + "}", 0), "tensor 'a' field data_offsets", "before begin");

    [Fact]
    public void UnknownDType() =>
        AssertRejected(WriteRaw("{" + Tensor("emb", "F33", "[2]", 0, 8) + "}", 8), "tensor 'emb' field dtype", "unsupported dtype \"F33\"");

    [Fact]
    public void NegativeShapeDimension() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "F32", "[2, -1]", 0, 8) + "}", 8), "tensor 'a' field shape[1]", "not a non-negative integer");

    [Fact]
    public void MissingField() =>
        AssertRejected(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "tensor 'a' field data_offsets", "missing");

    [Fact]
    public void MetadataValueNotString() =>
        AssertRejected(WriteRaw("{\"__metadata__\":{\"format\":1}}", 0), "header key '__metadata__.format'", "expected a string");

    [Fact]
    public void BufferLongerThanTensors()
    {
        string header = "{" + Tensor("a", "F32", "[2]", 0, 8) + "}";
        AssertRejected(WriteRaw(header, 12), $"byte {8 + header.Length + 8}", "4 bytes follow the last tensor");
    }

    [Fact]
    public void BufferShorterThanOffsets_TruncatedFile() =>
        AssertRejected(WriteRaw("{" + Tensor("a", "F32", "[2]", 0, 8) + "," + Tensor("b", "F32", "[2]", 8, 16) + "}", 12),
            "tensor 'b' field data_offsets", "the file is truncated");

    [Fact]
    public void EmptyHeaderAndBuffer_IsValid()
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(WriteRaw("{}      ", 0));
        Assert.Empty(file.Names);
    }
}
