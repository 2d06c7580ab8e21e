using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Agents.Http;

/// <summary>A request the server refuses: the status code and the message it answers as <c>{"error": message}</c>.</summary>
internal sealed class AgentGymRequestException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// Reads request bodies and query parameters with errors that name the offending field. Bodies are read whole up to the
/// server's limit (they are small: an id and an action) and parsed with <see cref="JsonDocument"/>, no reflection.
/// </summary>
internal static class AgentGymRequest
{
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
            throw TooLarge(maxBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1L, request.ContentLength + 1 ?? 4096));
        try
        {
            int length = 0;
            while (true)
            {
                if (length > maxBytes)
                    throw TooLarge(maxBytes);
                if (length == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1L, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                    break;
                length += read;
            }
            if (length > maxBytes)
                throw TooLarge(maxBytes);
            if (length == 0)
                throw new AgentGymRequestException(StatusCodes.Status400BadRequest, "request body is empty; expected a JSON object");
            JsonDocument document;
            try
            {
                // JsonDocument keeps a reference to the memory it parses: give it its own copy, the pooled buffer goes back.
                document = JsonDocument.Parse(buffer.AsSpan(0, length).ToArray());
            }
            catch (JsonException e)
            {
                throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"malformed JSON in request body: {e.Message}");
            }
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                JsonValueKind kind = document.RootElement.ValueKind;
                document.Dispose();
                throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"request body must be a JSON object, is {LocatedJson.Describe(kind)}");
            }
            return document;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static AgentGymRequestException TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"request body exceeds the server's limit of {maxBytes} bytes");

    public static int RequireInt(JsonElement body, string field)
    {
        if (!body.TryGetProperty(field, out JsonElement value))
            throw Missing(field, "an integer");
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int number))
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest,
                $"field '{field}' must be an integer, is {(value.ValueKind == JsonValueKind.Number ? "the number " + value.GetRawText() : LocatedJson.Describe(value.ValueKind))}");
        return number;
    }

    public static string RequireString(JsonElement body, string field)
    {
        if (!body.TryGetProperty(field, out JsonElement value))
            throw Missing(field, "a string");
        if (value.ValueKind != JsonValueKind.String)
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"field '{field}' must be a string, is {LocatedJson.Describe(value.ValueKind)}");
        return value.GetString()!;
    }

    public static int RequireIntQuery(HttpRequest request, string parameter)
    {
        string? text = request.Query[parameter];
        if (string.IsNullOrEmpty(text))
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"missing query parameter '{parameter}' (an integer)");
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"query parameter '{parameter}' must be an integer, is '{text}'");
        return value;
    }

    public static string RequireStringQuery(HttpRequest request, string parameter)
    {
        string? text = request.Query[parameter];
        return string.IsNullOrEmpty(text)
            ? throw new AgentGymRequestException(StatusCodes.Status400BadRequest, $"missing query parameter '{parameter}'")
            : text;
    }

    private static AgentGymRequestException Missing(string field, string kind) =>
        new(StatusCodes.Status400BadRequest, $"missing field '{field}' ({kind}) in request body");
}
