using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>The JSON header of a safetensors file: parsing with the format's validation rules, and writing.</summary>
internal static class SafeTensorsHeader
{
    /// <summary>The format's cap on the header length N (the reference parser rejects larger headers).</summary>
    public const long MaxHeaderLength = 100_000_000;

    public const string MetadataKey = "__metadata__";

    internal static readonly JsonWriterOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Parses the header JSON and validates every tensor against a byte buffer of <paramref name="bufferLength"/> bytes.
    /// Returns the tensors sorted by offset.
    /// </summary>
    public static List<TensorInfo> Parse(string filePath, ReadOnlyMemory<byte> json, long bufferLength, out Dictionary<string, string> metadata)
    {
        long bufferStart = 8 + json.Length;
        using JsonDocument document = new JsonSource(filePath) { FirstByte = 8 }.Parse(json, JsonSyntaxErrorFormat.FileByte);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(filePath, "byte 8", $"header is a JSON {root.ValueKind}, expected an object");

        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<TensorInfo>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw new DataFormatException(filePath, $"header key '{property.Name}'", "key appears twice in the header");
            if (property.Name == MetadataKey)
                metadata = ParseMetadata(filePath, property.Value);
            else
                tensors.Add(ParseTensor(filePath, property.Name, property.Value));
        }

        ValidateLayout(filePath, tensors, bufferStart, bufferLength);
        return tensors;
    }

    private static Dictionary<string, string> ParseMetadata(string filePath, JsonElement value)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (value.ValueKind == JsonValueKind.Null)
            return metadata;
        if (value.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(filePath, $"header key '{MetadataKey}'", $"is a JSON {value.ValueKind}, expected an object of strings");
        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new DataFormatException(filePath, $"header key '{MetadataKey}.{entry.Name}'", $"is a JSON {entry.Value.ValueKind}, expected a string");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
        return metadata;
    }

    private static TensorInfo ParseTensor(string filePath, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(filePath, $"tensor '{name}'", $"is a JSON {value.ValueKind}, expected an object with dtype, shape and data_offsets");

        JsonElement dtypeElement = RequiredField(filePath, name, value, "dtype");
        string? dtypeText = dtypeElement.ValueKind == JsonValueKind.String ? dtypeElement.GetString() : null;
        if (dtypeText is null || !TensorDTypes.TryParseHeaderString(dtypeText, out TensorDType dtype))
        {
            string supported = string.Join(", ", Enum.GetValues<TensorDType>().Select(d => d.ToHeaderString()));
            throw new DataFormatException(filePath, $"tensor '{name}' field dtype", $"unsupported dtype {dtypeElement.GetRawText()}; supported: {supported}");
        }

        long[] shape = NonNegativeIntegers(filePath, name, RequiredField(filePath, name, value, "shape"), "shape");
        long[] offsets = NonNegativeIntegers(filePath, name, RequiredField(filePath, name, value, "data_offsets"), "data_offsets");
        if (offsets.Length != 2)
            throw new DataFormatException(filePath, $"tensor '{name}' field data_offsets", $"has {offsets.Length} numbers, expected [begin, end]");
        if (!TensorShape.TryElementCount(shape, out long elements) || elements > long.MaxValue / dtype.ByteSize())
            throw new DataFormatException(filePath, $"tensor '{name}' field shape", $"{TensorShape.Format(shape)} overflows a 64-bit byte count");
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static JsonElement RequiredField(string filePath, string name, JsonElement tensor, string field) =>
        tensor.TryGetProperty(field, out JsonElement element)
            ? element
            : throw new DataFormatException(filePath, $"tensor '{name}' field {field}", "missing");

    private static long[] NonNegativeIntegers(string filePath, string name, JsonElement element, string field)
    {
        if (element.ValueKind != JsonValueKind.Array)
            throw new DataFormatException(filePath, $"tensor '{name}' field {field}", $"is a JSON {element.ValueKind}, expected an array of integers");
        var values = new long[element.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < 0)
                throw new DataFormatException(filePath, $"tensor '{name}' field {field}[{i}]", $"{item.GetRawText()} is not a non-negative integer");
            values[i++] = number;
        }
        return values;
    }

    /// <summary>
    /// The format's layout rule: sorted by offset, tensors tile the buffer from 0 to its end with no hole or overlap,
    /// and each holds exactly element count x dtype size bytes.
    /// </summary>
    private static void ValidateLayout(string filePath, List<TensorInfo> tensors, long bufferStart, long bufferLength)
    {
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long covered = 0;
        TensorInfo? previous = null;
        foreach (TensorInfo t in tensors)
        {
            string position = $"tensor '{t.Name}' field data_offsets";
            if (t.End < t.Begin)
                throw new DataFormatException(filePath, position, $"end {t.End} is before begin {t.Begin}");
            if (t.Begin < covered)
                throw new DataFormatException(filePath, position, $"[{t.Begin}, {t.End}] overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (t.Begin > covered)
                throw new DataFormatException(filePath, position, previous is null
                    ? $"begins at {t.Begin}: a hole of {t.Begin} bytes at the start of the buffer (the first tensor must begin at 0)"
                    : $"begins at {t.Begin} but tensor '{previous.Name}' ends at {covered}: a hole of {t.Begin - covered} bytes");
            long expectedBytes = t.ElementCount * t.DType.ByteSize();
            if (t.ByteLength != expectedBytes)
                throw new DataFormatException(filePath, position,
                    $"[{t.Begin}, {t.End}] holds {t.ByteLength} bytes but dtype {t.DType.ToHeaderString()} shape {TensorShape.Format(t.Shape)} needs {expectedBytes}");
            if (t.End > bufferLength)
                throw new DataFormatException(filePath, position,
                    $"ends at buffer byte {t.End} (file byte {bufferStart + t.End}) but the file ends at buffer byte {bufferLength}: the file is truncated");
            covered = t.End;
            previous = t;
        }
        if (covered != bufferLength)
            throw new DataFormatException(filePath, $"byte {bufferStart + covered}",
                $"{bufferLength - covered} bytes follow the last tensor; the tensor data must end where the file ends");
    }

    /// <summary>Header bytes (without the 8-byte length) padded with spaces to a multiple of 8, so the data starts 8-aligned.</summary>
    public static byte[] Build(IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CompactJson))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach ((string key, string value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (TensorInfo t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToHeaderString());
                json.WriteStartArray("shape");
                foreach (long dim in t.Shape)
                    json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(t.Begin);
                json.WriteNumberValue(t.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++)
            buffer.WriteByte((byte)' ');
        if (buffer.Length > MaxHeaderLength)
            throw new InvalidOperationException($"safetensors header would be {buffer.Length} bytes, over the format's limit of {MaxHeaderLength}");
        return buffer.ToArray();
    }

    public static void WriteLengthPrefix(Stream stream, long headerLength)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerLength);
        stream.Write(prefix);
    }
}
