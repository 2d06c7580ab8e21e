using System.Globalization;
using Google.Protobuf;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Proto;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Graph;

/// <summary>How <see cref="OnnxModel.Save"/> lays out weights.</summary>
public sealed record OnnxSaveOptions
{
    /// <summary>Initializers of at least this many bytes go to the external data file; smaller ones stay inline.</summary>
    public long ExternalThresholdBytes { get; init; } = 1024;

    /// <summary>External data file name, next to the model (GenAI's builder uses "model.onnx.data"); null: "&lt;model file&gt;.data".</summary>
    public string? ExternalDataFileName { get; init; }

    /// <summary>Offsets of external tensors are multiples of this, so ONNX Runtime can memory-map each one.</summary>
    public int ExternalAlignment { get; init; } = 4096;
}

/// <summary>
/// An ONNX model: the ModelProto plus initializer data not yet placed (built models), or as read from a file (data
/// inline or external). IR version 10 and opsets {"": 21, "com.microsoft": 1}: what ONNX Runtime GenAI's builder emits
/// and ORT 1.30 runs.
/// </summary>
public sealed class OnnxModel
{
    public const long IrVersion = 10;

    public const string MicrosoftDomain = "com.microsoft";

    public static readonly IReadOnlyDictionary<string, long> DefaultOpsets = new Dictionary<string, long> { [""] = 21, [MicrosoftDomain] = 1 };

    /// <summary>Protobuf's hard limit on one message: bigger models need external data.</summary>
    private const long MaxProtoBytes = int.MaxValue;

    private readonly IReadOnlyList<OnnxTensor> _pending;

    internal OnnxModel(ModelProto proto, IReadOnlyList<OnnxTensor> pending, string? sourcePath = null)
    {
        Proto = proto;
        _pending = pending;
        SourcePath = sourcePath;
    }

    public ModelProto Proto { get; }

    /// <summary>The file the model was read from, or null for a built one.</summary>
    public string? SourcePath { get; }

    public GraphProto Graph => Proto.Graph;

    /// <summary>Every initializer's name, type and dims (placed and pending).</summary>
    public IEnumerable<(string Name, TensorElementType Type, long[] Dims)> Initializers =>
        Graph.Initializer.Select(t => (t.Name, (TensorElementType)t.DataType, t.Dims.ToArray()))
            .Concat(_pending.Select(t => (t.Name, t.Type, t.Dims)));

    /// <summary>Writes the model (atomically) with big initializers in one external data file beside it; returns the data file's path or null.</summary>
    public string? Save(string path, OnnxSaveOptions? options = null)
    {
        options ??= new OnnxSaveOptions();
        if (options.ExternalAlignment < 1) throw new ArgumentOutOfRangeException(nameof(options), options.ExternalAlignment, "alignment must be positive");
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string dataName = options.ExternalDataFileName ?? Path.GetFileName(fullPath) + ".data";
        if (dataName.Contains('/') || dataName.Contains('\\'))
            throw new ArgumentException($"external data file name '{dataName}' must be a plain file name");

        ModelProto model = Proto.Clone();
        var external = _pending.Where(t => t.Data.Length >= options.ExternalThresholdBytes).ToList();
        foreach (OnnxTensor tensor in _pending.Where(t => t.Data.Length < options.ExternalThresholdBytes))
            model.Graph.Initializer.Add(InlineTensor(tensor));

        string? dataPath = null;
        if (external.Count > 0)
        {
            dataPath = Path.Combine(directory, dataName);
            var placed = new List<TensorProto>(external.Count);
            AtomicFile.Write(dataPath, stream =>
            {
                long offset = 0;
                Span<byte> zeros = stackalloc byte[256];
                zeros.Clear();
                foreach (OnnxTensor tensor in external)
                {
                    long aligned = (offset + options.ExternalAlignment - 1) / options.ExternalAlignment * options.ExternalAlignment;
                    for (long pad = aligned - offset; pad > 0; pad -= Math.Min(pad, zeros.Length))
                        stream.Write(zeros[..(int)Math.Min(pad, zeros.Length)]);
                    stream.Write(tensor.Data.Span);
                    placed.Add(ExternalTensor(tensor, dataName, aligned));
                    offset = aligned + tensor.Data.Length;
                }
            });
            model.Graph.Initializer.AddRange(placed);
        }

        long size = model.CalculateSize();
        if (size > MaxProtoBytes)
            throw new InvalidOperationException($"{path}: the model proto would be {size} bytes, over protobuf's 2 GiB limit; lower ExternalThresholdBytes");
        AtomicFile.Write(fullPath, stream => model.WriteTo(stream));
        return dataPath;
    }

    /// <summary>The whole model as bytes with every initializer inline (for small models and CreateSessionFromArray).</summary>
    public byte[] ToBytes()
    {
        ModelProto model = Proto.Clone();
        foreach (OnnxTensor tensor in _pending)
            model.Graph.Initializer.Add(InlineTensor(tensor));
        return model.ToByteArray();
    }

    /// <summary>
    /// Reads an .onnx file (external data stays on disk; see <see cref="ReadInitializer"/>). Not ONNX, or no graph:
    /// <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"ONNX model '{path}' does not exist", path);
        ModelProto proto;
        try
        {
            using FileStream stream = File.OpenRead(path);
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new DataFormatException(path, "file", $"not an ONNX model (protobuf: {e.Message})");
        }
        if (proto.IrVersion <= 0)
            throw new DataFormatException(path, "ir_version", "not an ONNX model: ir_version is missing");
        if (proto.Graph is null)
            throw new DataFormatException(path, "graph", "not an ONNX model: it has no graph");
        return new OnnxModel(proto, [], Path.GetFullPath(path));
    }

    /// <summary>The initializer's data (inline or from its external file), checked against its dims and type.</summary>
    public OnnxTensor ReadInitializer(string name)
    {
        OnnxTensor? pending = _pending.FirstOrDefault(t => t.Name == name);
        if (pending is not null)
            return pending;
        TensorProto tensor = Graph.Initializer.FirstOrDefault(t => t.Name == name)
            ?? throw new KeyNotFoundException($"{SourcePath ?? "model"}: no initializer named '{name}'");
        var type = (TensorElementType)tensor.DataType;
        long[] dims = tensor.Dims.ToArray();
        if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
            return new OnnxTensor(name, type, dims, InlineBytes(tensor, type));

        string where = SourcePath ?? throw new InvalidOperationException($"initializer '{name}' is external but the model has no file");
        string location = tensor.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value
            ?? throw new DataFormatException(where, $"initializer '{name}'.external_data", "has no 'location'");
        long offset = ParseLong(tensor, "offset", 0, where);
        string file = Path.Combine(Path.GetDirectoryName(where)!, location);
        if (!File.Exists(file))
            throw new DataFormatException(where, $"initializer '{name}'", $"external data file '{location}' is missing");
        long expected = dims.Aggregate(1L, (a, d) => a * d) * OnnxTensor.ElementSize(type);
        long length = ParseLong(tensor, "length", expected, where);
        if (length != expected)
            throw new DataFormatException(where, $"initializer '{name}'", $"external length {length} does not match dims [{string.Join(", ", dims)}] of {type} ({expected} bytes)");
        using FileStream stream = File.OpenRead(file);
        if (offset + length > stream.Length)
            throw new DataFormatException(where, $"initializer '{name}'", $"external data [{offset}, {offset + length}) runs past the end of '{location}' ({stream.Length} bytes)");
        var data = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(data);
        return new OnnxTensor(name, type, dims, data);
    }

    internal static TensorProto InlineTensor(OnnxTensor tensor)
    {
        var proto = new TensorProto { Name = tensor.Name, DataType = (int)tensor.Type, RawData = ByteString.CopyFrom(tensor.Data.Span) };
        proto.Dims.AddRange(tensor.Dims);
        return proto;
    }

    private static TensorProto ExternalTensor(OnnxTensor tensor, string location, long offset)
    {
        var proto = new TensorProto { Name = tensor.Name, DataType = (int)tensor.Type, DataLocation = TensorProto.Types.DataLocation.External };
        proto.Dims.AddRange(tensor.Dims);
        proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.Data.Length.ToString(CultureInfo.InvariantCulture) });
        return proto;
    }

    private static byte[] InlineBytes(TensorProto tensor, TensorElementType type)
    {
        if (tensor.HasRawData)
            return tensor.RawData.ToByteArray();
        // Typed fields (writers other than ours): the common numeric ones.
        return type switch
        {
            TensorElementType.Float => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.FloatData.ToArray().AsSpan()).ToArray(),
            TensorElementType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Int64Data.ToArray().AsSpan()).ToArray(),
            TensorElementType.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Int32Data.ToArray().AsSpan()).ToArray(),
            TensorElementType.Double => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.DoubleData.ToArray().AsSpan()).ToArray(),
            _ => throw new NotSupportedException($"initializer '{tensor.Name}': typed {type} data is not supported; write raw_data"),
        };
    }

    private static long ParseLong(TensorProto tensor, string key, long fallback, string where)
    {
        string? text = tensor.ExternalData.FirstOrDefault(e => e.Key == key)?.Value;
        if (text is null)
            return fallback;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new DataFormatException(where, $"initializer '{tensor.Name}'.external_data.{key}", $"'{text}' is not a non-negative integer");
    }
}
