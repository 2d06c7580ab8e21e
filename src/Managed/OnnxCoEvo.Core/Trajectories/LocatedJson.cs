using System.Globalization;
using System.Text.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>The file (and, for JSONL, the line) a JSON value was read from; errors name both.</summary>
public sealed record JsonSource(string FilePath, int? LineNumber = null)
{
    /// <summary>"line 7 $.turns[3].role" for JSONL, "$[12].conversations[4].from" for whole-file JSON.</summary>
    public string Position(string jsonPath) => LineNumber switch
    {
        int line when jsonPath == "$" => $"line {line}",
        int line => $"line {line} {jsonPath}",
        _ => jsonPath,
    };
}

/// <summary>
/// A JSON value together with its JSON path and source, so that every typed read can fail with a
/// <see cref="DataFormatException"/> that says exactly where the bad value is.
/// </summary>
public readonly struct LocatedJson
{
    public LocatedJson(JsonElement element, string path, JsonSource source)
    {
        Element = element;
        Path = path;
        Source = source;
    }

    public JsonElement Element { get; }

    /// <summary>JSON path from the record root: "$", "$.turns[3].role".</summary>
    public string Path { get; }

    public JsonSource Source { get; }

    public JsonValueKind Kind => Element.ValueKind;

    public DataFormatException Error(string problem) => new(Source.FilePath, Source.Position(Path), problem);

    /// <summary>The named member; missing is an error, JSON null is returned as is.</summary>
    public LocatedJson Required(string name)
    {
        ExpectKind(JsonValueKind.Object);
        if (!Element.TryGetProperty(name, out JsonElement value))
            throw Error($"missing required field \"{name}\"");
        return new LocatedJson(value, ChildPath(name), Source);
    }

    /// <summary>The named member, or null when it is missing or JSON null.</summary>
    public LocatedJson? Optional(string name)
    {
        ExpectKind(JsonValueKind.Object);
        if (!Element.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            return null;
        return new LocatedJson(value, ChildPath(name), Source);
    }

    public bool Has(string name) => Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(name, out _);

    public string GetString()
    {
        ExpectKind(JsonValueKind.String);
        return Element.GetString()!;
    }

    public string GetNonEmptyString()
    {
        string value = GetString();
        if (value.Length == 0)
            throw Error("must not be empty");
        return value;
    }

    /// <summary>An identifier that files write either as a string or as an integer (ETO, AgentGym DPO ids).</summary>
    public string GetIdString()
    {
        if (Kind == JsonValueKind.Number && Element.TryGetInt64(out long number))
            return number.ToString(CultureInfo.InvariantCulture);
        if (Kind != JsonValueKind.String)
            throw Error($"expected a string or an integer id, found {Describe(Kind)}");
        return GetNonEmptyString();
    }

    public double GetDouble()
    {
        ExpectKind(JsonValueKind.Number);
        return Element.GetDouble();
    }

    public int GetInt32()
    {
        ExpectKind(JsonValueKind.Number);
        if (!Element.TryGetInt32(out int value))
            throw Error($"expected a 32-bit integer, found {Element.GetRawText()}");
        return value;
    }

    public bool GetBoolean()
    {
        if (Kind is not (JsonValueKind.True or JsonValueKind.False))
            throw Error($"expected true or false, found {Describe(Kind)}");
        return Element.GetBoolean();
    }

    /// <summary>true, false or null (AgentGym's per-turn loss flag).</summary>
    public bool? GetNullableBoolean() => Kind == JsonValueKind.Null ? null : GetBoolean();

    public IEnumerable<LocatedJson> Items()
    {
        ExpectKind(JsonValueKind.Array);
        return ItemsOf(Element, Path, Source);

        static IEnumerable<LocatedJson> ItemsOf(JsonElement array, string path, JsonSource source)
        {
            int index = 0;
            foreach (JsonElement item in array.EnumerateArray())
                yield return new LocatedJson(item, $"{path}[{index++}]", source);
        }
    }

    public void ExpectKind(JsonValueKind kind)
    {
        if (Kind != kind)
            throw Error($"expected {Describe(kind)}, found {Describe(Kind)}");
    }

    /// <summary>Path of a member: ".name" for plain names, "['odd name']" otherwise.</summary>
    public string ChildPath(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? $"{Path}.{name}"
            : $"{Path}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
