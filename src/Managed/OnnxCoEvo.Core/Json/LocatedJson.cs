using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace OnnxCoEvo.Core.Json;

/// <summary>
/// A JSON value together with its JSON path and source, so that every typed read can fail with a
/// <see cref="DataFormatException"/> that says exactly where the bad value is (worded as the source's <see cref="JsonStyle"/> says).
/// </summary>
/// <remarks>
/// Paths are built as members are visited. Loops over very large objects or arrays (a 128k-entry vocabulary) should read
/// the raw <see cref="Element"/> and locate an entry with <see cref="Member(JsonProperty)"/> or <see cref="Item(int)"/>
/// only when it is bad.
/// </remarks>
public readonly struct LocatedJson(JsonElement element, string path, JsonSource source)
{
    private static readonly SearchValues<char> PlainNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    public JsonElement Element { get; } = element;

    /// <summary>JSON path from the record root: "$", "$.turns[3].role", "$.model.vocab[\"lo\"]".</summary>
    public string Path { get; } = path;

    public JsonSource Source { get; } = source;

    public JsonValueKind Kind => Element.ValueKind;

    private bool IsConfig => Source.Style == JsonStyle.Config;

    public DataFormatException Error(string problem, Exception? inner = null) => Source.Error(Path, problem, inner);

    /// <summary>A fault at the path of the named member, whether or not it is present.</summary>
    public DataFormatException FieldError(string name, string problem) => Source.Error(ChildPath(name), problem);

    /// <summary>
    /// The named member. Missing is an error; JSON null is returned as is for <see cref="JsonStyle.Records"/> and is
    /// missing for <see cref="JsonStyle.Config"/>.
    /// </summary>
    public LocatedJson Required(string name)
    {
        ExpectKind(JsonValueKind.Object);
        if (!Element.TryGetProperty(name, out JsonElement value) || (IsConfig && value.ValueKind == JsonValueKind.Null))
            throw IsConfig ? FieldError(name, "missing required field") : Error($"missing required field \"{name}\"");
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

    public LocatedJson? OptionalObject(string name) => Optional(name)?.ExpectKind(JsonValueKind.Object);

    public string RequiredString(string name) => Required(name).GetString();

    public string? OptionalString(string name) => Optional(name)?.GetString();

    public int RequiredInt32(string name) => Required(name).GetInt32();

    public int? OptionalInt32(string name) => Optional(name)?.GetInt32();

    public double RequiredDouble(string name) => Required(name).GetDouble();

    public double? OptionalDouble(string name) => Optional(name)?.GetDouble();

    public bool? OptionalBoolean(string name) => Optional(name)?.GetBoolean();

    /// <summary>A list of strings; empty when the member is missing or null. A bad list is reported whole, at the member.</summary>
    public IReadOnlyList<string> StringList(string name)
    {
        if (Optional(name) is not { } list)
            return [];
        if (list.Kind != JsonValueKind.Array || list.Element.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
            throw list.WrongValue("a list of strings");
        return list.Element.EnumerateArray().Select(item => item.GetString()!).ToArray();
    }

    /// <summary>
    /// An integer or a list of integers (as Hugging Face writes eos_token_id); empty when the member is missing or null.
    /// A bad item is reported at the member.
    /// </summary>
    public IReadOnlyList<int> Int32OrList(string name)
    {
        if (Optional(name) is not { } value)
            return [];
        if (value.Kind != JsonValueKind.Array)
            return [value.GetInt32()];
        var items = new List<int>(value.Element.GetArrayLength());
        foreach (JsonElement item in value.Element.EnumerateArray())
            items.Add(new LocatedJson(item, value.Path, Source).GetInt32());
        return items;
    }

    public string GetString() => Kind == JsonValueKind.String ? Element.GetString()! : throw WrongValue("a string");

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
            throw WrongValue("a string or an integer id");
        return GetNonEmptyString();
    }

    public double GetDouble() => Kind == JsonValueKind.Number ? Element.GetDouble() : throw WrongValue("a number");

    public int GetInt32()
    {
        if (Kind == JsonValueKind.Number && Element.TryGetInt32(out int value))
            return value;
        if (IsConfig)
            throw WrongValue("a 32-bit integer");
        throw Kind == JsonValueKind.Number
            ? Error($"expected a 32-bit integer, found {Element.GetRawText()}")
            : WrongValue("a number");
    }

    public bool GetBoolean() =>
        Kind is JsonValueKind.True or JsonValueKind.False ? Element.GetBoolean() : throw WrongValue("true or false");

    /// <summary>true, false or null (AgentGym's per-turn loss flag).</summary>
    public bool? GetNullableBoolean() => Kind == JsonValueKind.Null ? null : GetBoolean();

    public IEnumerable<LocatedJson> Items()
    {
        ExpectKind(JsonValueKind.Array);
        return ItemsOf(this);

        static IEnumerable<LocatedJson> ItemsOf(LocatedJson array)
        {
            int index = 0;
            foreach (JsonElement item in array.Element.EnumerateArray())
                yield return new LocatedJson(item, array.IndexPath(index++), array.Source);
        }
    }

    /// <summary>The item at <paramref name="index"/> of this array (for locating a bad item found on the raw element).</summary>
    public LocatedJson Item(int index) => new(Element[index], IndexPath(index), Source);

    /// <summary>The members of an object whose names are data (tokens, tensor names), each at path <c>[&quot;name&quot;]</c>.</summary>
    public IEnumerable<(string Name, LocatedJson Value)> Members()
    {
        ExpectKind(JsonValueKind.Object);
        return MembersOf(this);

        static IEnumerable<(string, LocatedJson)> MembersOf(LocatedJson obj)
        {
            foreach (JsonProperty member in obj.Element.EnumerateObject())
                yield return (member.Name, obj.Member(member));
        }
    }

    /// <summary>A member of this object whose name is data, at path <c>[&quot;name&quot;]</c>.</summary>
    public LocatedJson Member(JsonProperty member) => new(member.Value, KeyPath(member.Name), Source);

    /// <summary>Throws unless the value is of <paramref name="kind"/>; returns it, for chaining.</summary>
    public LocatedJson ExpectKind(JsonValueKind kind)
    {
        if (Kind == kind)
            return this;
        throw IsConfig && kind is JsonValueKind.Object or JsonValueKind.Array
            ? Error($"is a JSON {Kind}, expected {Describe(kind)}")
            : WrongValue(Describe(kind));
    }

    /// <summary>Path of a member named in code: ".name" for plain names, as a quoted key otherwise.</summary>
    public string ChildPath(string name) =>
        name.Length > 0 && !name.AsSpan().ContainsAnyExcept(PlainNameChars) ? $"{Path}.{name}" : KeyPath(name);

    /// <summary>Path of a member whose name is data, quoted as a JSON string: <c>$.model.vocab[&quot;\u0120the&quot;]</c>.</summary>
    public string KeyPath(string name) => $"{Path}[{JsonSerializer.Serialize(name)}]";

    public string IndexPath(int index) => $"{Path}[{index}]";

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

    /// <param name="expected">What was wanted: "a string", "true or false", "a 32-bit integer".</param>
    private DataFormatException WrongValue(string expected) => Error(IsConfig
        ? $"{Element.GetRawText()} is not {expected}"
        : $"expected {expected}, found {Describe(Kind)}");
}
