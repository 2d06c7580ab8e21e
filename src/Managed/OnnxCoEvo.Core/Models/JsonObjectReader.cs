using System.Text.Json;

namespace OnnxCoEvo.Core.Models;

/// <summary>Typed access to the fields of one JSON object; every error is a <see cref="DataFormatException"/> at "$.path.key".</summary>
internal readonly struct JsonObjectReader
{
    private readonly JsonElement _object;

    public JsonObjectReader(string filePath, string path, JsonElement element)
    {
        FilePath = filePath;
        Path = path;
        if (element.ValueKind != JsonValueKind.Object)
            throw new DataFormatException(filePath, path, $"is a JSON {element.ValueKind}, expected an object");
        _object = element;
    }

    public string FilePath { get; }

    public string Path { get; }

    public string PositionOf(string key) => Path == "$" ? $"$.{key}" : $"{Path}.{key}";

    public DataFormatException Error(string key, string problem) => new(FilePath, PositionOf(key), problem);

    /// <summary>The field's value, or null when it is absent or JSON null.</summary>
    public JsonElement? Find(string key) =>
        _object.TryGetProperty(key, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public JsonObjectReader? OptionalObject(string key) =>
        Find(key) is { } value ? new JsonObjectReader(FilePath, PositionOf(key), value) : null;

    public int RequiredInt(string key) => OptionalInt(key) ?? throw Error(key, "missing required field");

    public int? OptionalInt(string key) => Find(key) is { } value ? ToInt(key, value) : null;

    public int ToInt(string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number)
            ? number
            : throw Error(key, $"{value.GetRawText()} is not a 32-bit integer");

    public double RequiredDouble(string key) => OptionalDouble(key) ?? throw Error(key, "missing required field");

    public double? OptionalDouble(string key) =>
        Find(key) is not { } value ? null
        : value.ValueKind == JsonValueKind.Number ? value.GetDouble()
        : throw Error(key, $"{value.GetRawText()} is not a number");

    public bool? OptionalBool(string key) =>
        Find(key) is not { } value ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw Error(key, $"{value.GetRawText()} is not true or false");

    public string? OptionalString(string key) =>
        Find(key) is not { } value ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw Error(key, $"{value.GetRawText()} is not a string");

    public IReadOnlyList<string> StringList(string key)
    {
        if (Find(key) is not { } value)
            return [];
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
            throw Error(key, $"{value.GetRawText()} is not a list of strings");
        return value.EnumerateArray().Select(item => item.GetString()!).ToArray();
    }

    /// <summary>An integer or a list of integers (as HF writes eos_token_id); empty when absent.</summary>
    public IReadOnlyList<int> IntOrIntList(string key)
    {
        if (Find(key) is not { } value)
            return [];
        if (value.ValueKind != JsonValueKind.Array)
            return [ToInt(key, value)];
        var items = new List<int>();
        foreach (JsonElement item in value.EnumerateArray())
            items.Add(ToInt(key, item));
        return items;
    }
}
