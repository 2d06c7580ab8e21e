using System.Text.Json;

namespace OnnxCoEvo.Core.Json;

/// <summary>How the members of a JSON source are checked, and how faults in them are worded.</summary>
public enum JsonStyle
{
    /// <summary>
    /// Dataset records (trajectories, preference pairs): JSON null is a value the reader may accept, a missing member is
    /// reported at its object ("$[3]: missing required field \"id\""), and a wrong type names both kinds
    /// ("expected a string, found a number").
    /// </summary>
    Records,

    /// <summary>
    /// Configuration files (config.json, tokenizer.json, tokenizer_config.json, adapter_config.json): a member that is
    /// JSON null counts as missing and is reported at its own path ("$.hidden_size: missing required field"), and a
    /// wrong value is quoted ("\"big\" is not a 32-bit integer"), or named by kind where an object or array was expected
    /// ("is a JSON Array, expected an object").
    /// </summary>
    Config,
}

/// <summary>How a JSON syntax error's position and problem are written; each file family keeps the form its users know.</summary>
public enum JsonSyntaxErrorFormat
{
    /// <summary>The record rather than the byte: "line 7" for a JSONL line, "$" for a whole document. Problem "not valid JSON: ...".</summary>
    Record,

    /// <summary>"line 3 byte 12", both 1-based ("$" when the reader gives no line). Problem "not valid JSON: ...".</summary>
    LineByte,

    /// <summary>"line 3, byte 12", both 1-based ("byte 0" when the reader gives no line). Problem "malformed JSON: ..." with the reader's first sentence.</summary>
    LineCommaByte,

    /// <summary>
    /// "byte 15", counted from the start of the file (the JSON starts at <see cref="JsonSource.FirstByte"/>), while the
    /// error is on the JSON's first line; "line 3 byte-in-line 11" (line 1-based, byte 0-based) after it. Problem "not valid JSON: ...".
    /// </summary>
    FileByte,
}

/// <summary>
/// The file (and, for JSONL, the line) a JSON value was read from, with the conventions its faults are reported in.
/// Every fault is a <see cref="DataFormatException"/> naming the file and the position.
/// </summary>
public sealed record JsonSource(string FilePath, int? LineNumber = null)
{
    /// <summary>How members are checked and faults worded; dataset records unless set.</summary>
    public JsonStyle Style { get; init; } = JsonStyle.Records;

    /// <summary>The file byte the JSON text starts at (8 for a safetensors header); <see cref="JsonSyntaxErrorFormat.FileByte"/> counts from it.</summary>
    public long FirstByte { get; init; }

    /// <summary>"line 7 $.turns[3].role" for JSONL, "$[12].conversations[4].from" for whole-file JSON.</summary>
    public string Position(string jsonPath) => LineNumber switch
    {
        int line when jsonPath == "$" => $"line {line}",
        int line => $"line {line} {jsonPath}",
        _ => jsonPath,
    };

    /// <summary>A fault at a JSON path of this source, whether or not a value stands there.</summary>
    public DataFormatException Error(string jsonPath, string problem, Exception? inner = null) =>
        new(FilePath, Position(jsonPath), problem, inner);

    /// <summary>The document's root value, at path "$".</summary>
    public LocatedJson Root(JsonDocument document) => new(document.RootElement, "$", this);

    /// <summary>Parses UTF-8 JSON; a syntax error becomes a <see cref="DataFormatException"/> written as <paramref name="format"/> says.</summary>
    public JsonDocument Parse(ReadOnlyMemory<byte> utf8, JsonSyntaxErrorFormat format, JsonDocumentOptions options = default) =>
        Parse(utf8, static (json, o) => JsonDocument.Parse(json, o), format, options);

    /// <inheritdoc cref="Parse(ReadOnlyMemory{byte}, JsonSyntaxErrorFormat, JsonDocumentOptions)"/>
    public JsonDocument Parse(Stream utf8, JsonSyntaxErrorFormat format, JsonDocumentOptions options = default) =>
        Parse(utf8, static (json, o) => JsonDocument.Parse(json, o), format, options);

    /// <inheritdoc cref="Parse(ReadOnlyMemory{byte}, JsonSyntaxErrorFormat, JsonDocumentOptions)"/>
    public JsonDocument Parse(string json, JsonSyntaxErrorFormat format, JsonDocumentOptions options = default) =>
        Parse(json, static (text, o) => JsonDocument.Parse(text, o), format, options);

    private JsonDocument Parse<T>(T json, Func<T, JsonDocumentOptions, JsonDocument> parse, JsonSyntaxErrorFormat format, JsonDocumentOptions options)
    {
        try
        {
            return parse(json, options);
        }
        catch (JsonException e)
        {
            throw SyntaxError(e, format);
        }
    }

    /// <summary>A syntax error from any System.Text.Json reader of this source, at the position <paramref name="format"/> gives.</summary>
    public DataFormatException SyntaxError(JsonException e, JsonSyntaxErrorFormat format)
    {
        long? line = e.LineNumber, byteInLine = e.BytePositionInLine;
        string position = format switch
        {
            JsonSyntaxErrorFormat.Record => Position("$"),
            JsonSyntaxErrorFormat.LineByte => line is null ? Position("$") : $"line {line + 1} byte {byteInLine + 1}",
            JsonSyntaxErrorFormat.LineCommaByte => line is null ? "byte 0" : $"line {line + 1}, byte {(byteInLine ?? 0) + 1}",
            JsonSyntaxErrorFormat.FileByte => line is null or 0 ? $"byte {FirstByte + (byteInLine ?? 0)}" : $"line {line + 1} byte-in-line {byteInLine}",
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
        };
        string problem = format == JsonSyntaxErrorFormat.LineCommaByte
            ? "malformed JSON: " + FirstSentence(e.Message)
            : $"not valid JSON: {e.Message}";
        return new DataFormatException(FilePath, position, problem, e);
    }

    // System.Text.Json appends its own "LineNumber: ..." clause; the position already says where.
    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut].TrimEnd() : message;
    }
}
