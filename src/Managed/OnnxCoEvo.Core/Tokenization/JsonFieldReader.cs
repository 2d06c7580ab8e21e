using System.Text.Json;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// Typed access to a parsed JSON file where every failure is a <see cref="DataFormatException"/> naming the file and
/// the JSON path ("$.model.merges[12]"). Paths are passed in by callers, built only for the fields they visit.
/// </summary>
internal sealed class JsonFieldReader(string filePath)
{
    public string FilePath { get; } = filePath;

    /// <summary>Parses UTF-8 JSON; a syntax error names its line and byte (both 1-based).</summary>
    public JsonDocument Parse(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            string position = e.LineNumber is long line
                ? $"line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}"
                : "byte 0";
            throw new DataFormatException(FilePath, position, "malformed JSON: " + FirstSentence(e.Message), e);
        }
    }

    public DataFormatException Error(string path, string problem) => new(FilePath, path, problem);

    public JsonElement Object(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object ? element : throw Error(path, $"expected an object, found {Describe(element)}");

    public JsonElement Array(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Array ? element : throw Error(path, $"expected an array, found {Describe(element)}");

    public string String(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw Error(path, $"expected a string, found {Describe(element)}");

    public bool Bool(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error(path, $"expected true or false, found {Describe(element)}"),
    };

    public int Int32(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out int value)
            ? value
            : throw Error(path, $"expected a 32-bit integer, found {Describe(element)}");

    /// <summary>A property that is absent or JSON null gives null.</summary>
    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public JsonElement Required(JsonElement obj, string objPath, string name) =>
        Optional(obj, name) ?? throw Error(Child(objPath, name), "required field is missing or null");

    public bool OptionalBool(JsonElement obj, string objPath, string name, bool defaultValue) =>
        Optional(obj, name) is { } v ? Bool(v, Child(objPath, name)) : defaultValue;

    public string? OptionalString(JsonElement obj, string objPath, string name) =>
        Optional(obj, name) is { } v ? String(v, Child(objPath, name)) : null;

    public string RequiredString(JsonElement obj, string objPath, string name) =>
        String(Required(obj, objPath, name), Child(objPath, name));

    public static string Child(string path, string name) => path + "." + name;

    public static string Index(string path, int index) => $"{path}[{index}]";

    /// <summary>Path of an object member whose name is data (a vocabulary token), quoted as JSON.</summary>
    public static string Key(string path, string key) => $"{path}[{JsonSerializer.Serialize(key)}]";

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"string {Truncate(element.GetRawText())}",
        JsonValueKind.Number => $"number {Truncate(element.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => "null",
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";

    // System.Text.Json appends its own "LineNumber: ..." clause; our position already says where.
    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut].TrimEnd() : message;
    }
}
