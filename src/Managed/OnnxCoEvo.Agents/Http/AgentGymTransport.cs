using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// JSON over HTTP to one AgentGym env server: sends a request, turns refusals (4xx/5xx, or AgentGym's 200
/// <c>{"error": ...}</c>) and unreachable servers into <see cref="RemoteEnvironmentException"/>, and hands back the
/// answer as a <see cref="AgentGymReply"/> that reads fields with errors naming them.
/// </summary>
internal sealed class AgentGymTransport
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;

    public AgentGymTransport(Uri baseAddress, HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(http);
        if (!baseAddress.IsAbsoluteUri || (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"remote environment address '{baseAddress}' must be an absolute http(s) URI", nameof(baseAddress));
        // A trailing slash keeps a path prefix (http://host/webshop/) when relative paths are resolved against it.
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _http = http;
    }

    public Uri BaseAddress { get; }

    public Task<AgentGymReply> GetAsync(string pathAndQuery, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, pathAndQuery, null, cancellationToken);

    public Task<AgentGymReply> PostAsync(string path, Action<Utf8JsonWriter>? writeBody, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, writeBody, cancellationToken);

    private async Task<AgentGymReply> SendAsync(HttpMethod method, string pathAndQuery, Action<Utf8JsonWriter>? writeBody, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress, pathAndQuery.TrimStart('/')));
        if (writeBody is not null)
        {
            var buffer = new ArrayBufferWriter<byte>(128);
            using (var writer = new Utf8JsonWriter(buffer))
                writeBody(writer);
            request.Content = new ByteArrayContent(buffer.WrittenSpan.ToArray()) { Headers = { ContentType = Json } };
        }

        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new RemoteEnvironmentException(method.Method, pathAndQuery, null, $"no answer from {BaseAddress}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RemoteEnvironmentException(method.Method, pathAndQuery, null, $"no answer from {BaseAddress} within the HTTP client's timeout", e);
        }

        int status = (int)response.StatusCode;
        using (response)
        {
            JsonDocument? document = TryParse(body);
            if (!response.IsSuccessStatusCode)
            {
                string problem = ServerMessage(document) ?? (body.Length > 0 ? Excerpt(body) : response.ReasonPhrase ?? "(no message)");
                document?.Dispose();
                throw new RemoteEnvironmentException(method.Method, pathAndQuery, status, problem);
            }
            if (document is null)
                throw new RemoteEnvironmentException(method.Method, pathAndQuery, status, $"answer is not JSON: {Excerpt(body)}");
            // AgentGym's ALFWorld server reports failures as 200 {"error": "..."}.
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(AgentGymWire.Error, out JsonElement error) && error.ValueKind == JsonValueKind.String)
            {
                string problem = error.GetString()!;
                document.Dispose();
                throw new RemoteEnvironmentException(method.Method, pathAndQuery, status, problem);
            }
            return new AgentGymReply(document, method.Method, pathAndQuery);
        }
    }

    private static JsonDocument? TryParse(byte[] body)
    {
        if (body.Length == 0)
            return null;
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Our servers say {"error": "..."}; FastAPI says {"detail": ...} (a string, or a list of validation problems).</summary>
    private static string? ServerMessage(JsonDocument? document)
    {
        if (document?.RootElement.ValueKind != JsonValueKind.Object)
            return null;
        foreach (string field in (ReadOnlySpan<string>)[AgentGymWire.Error, "detail"])
            if (document.RootElement.TryGetProperty(field, out JsonElement message))
                return message.ValueKind == JsonValueKind.String ? message.GetString() : message.GetRawText();
        return null;
    }

    private static string Excerpt(byte[] body)
    {
        string text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
        return body.Length > 300 ? text + "..." : text;
    }
}

/// <summary>A server's JSON answer, read with errors that name the request and the field. Dispose it.</summary>
internal sealed class AgentGymReply(JsonDocument document, string method, string path) : IDisposable
{
    public JsonElement Root => document.RootElement;

    public string String(string field) => Expect(Field(field), JsonValueKind.String, field).GetString()!;

    public double Double(string field) => Expect(Field(field), JsonValueKind.Number, field).GetDouble();

    public bool Bool(string field)
    {
        JsonElement value = Field(field);
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw WrongKind(field, "a boolean", value);
    }

    public int Int(string field) => ToInt(Field(field), field);

    public IReadOnlyList<string> Strings(string field) => ToStrings(Field(field), field);

    public JsonElement Field(string field)
    {
        if (Root.ValueKind != JsonValueKind.Object)
            throw Malformed($"answer must be a JSON object with '{field}', is {LocatedJson.Describe(Root.ValueKind)}");
        return Root.TryGetProperty(field, out JsonElement value) ? value : throw Malformed($"answer lacks field '{field}'");
    }

    public int ToInt(JsonElement value, string what) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) ? number : throw WrongKind(what, "an integer", value);

    public string ToString(JsonElement value, string what) => Expect(value, JsonValueKind.String, what).GetString()!;

    public IReadOnlyList<string> ToStrings(JsonElement value, string what)
    {
        Expect(value, JsonValueKind.Array, what);
        var strings = new string[value.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
            strings[i++] = ToString(item, what + "[]");
        return strings;
    }

    public RemoteEnvironmentException Malformed(string problem) => new(method, path, 200, problem);

    public void Dispose() => document.Dispose();

    private JsonElement Expect(JsonElement value, JsonValueKind kind, string what) =>
        value.ValueKind == kind ? value : throw WrongKind(what, LocatedJson.Describe(kind), value);

    private RemoteEnvironmentException WrongKind(string what, string expected, JsonElement value) =>
        Malformed($"'{what}' must be {expected}, is {Shorten(value.GetRawText())}");

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "..." : text;
}
