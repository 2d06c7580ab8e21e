using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>Turns one record type into one JSON object and back; used by <see cref="JsonlReader"/> and <see cref="JsonlAppender{T}"/>.</summary>
public interface IJsonlCodec<T>
{
    /// <summary>Writes the record as one JSON object. Throws <see cref="ArgumentException"/> for a record the reader would reject.</summary>
    void Write(Utf8JsonWriter writer, T record);

    /// <summary>Reads one record; every problem is a <see cref="DataFormatException"/> from <see cref="LocatedJson.Error"/>.</summary>
    T Read(LocatedJson root);
}

/// <summary>A record and the 1-based line it was read from.</summary>
public readonly record struct JsonlRecord<T>(int LineNumber, T Value);

/// <summary>
/// An unfinished last line: no newline at its end and not valid JSON, what a crash in the middle of an append leaves.
/// <see cref="MovedTo"/> names the side file that kept its bytes when an appender cut it off the file.
/// </summary>
public sealed record JsonlTornTail(string FilePath, int LineNumber, long ByteOffset, long Length, string Problem, string? MovedTo = null)
{
    public override string ToString() =>
        $"{FilePath}: line {LineNumber}: torn last line ({Length} bytes at byte {ByteOffset}): {Problem}"
        + (MovedTo is null ? "" : $"; moved to {MovedTo}");
}

public sealed record JsonlReadOptions
{
    /// <summary>Strict: a torn last line is a <see cref="DataFormatException"/>. Lenient (default): it is skipped and reported.</summary>
    public bool Strict { get; init; }

    /// <summary>Called (lenient mode) with the torn last line before the enumeration ends.</summary>
    public Action<JsonlTornTail>? OnTornTail { get; init; }
}

/// <summary>Every complete record of a JSONL file, and the torn last line if there was one.</summary>
public sealed record JsonlReadResult<T>(IReadOnlyList<T> Records, JsonlTornTail? TornTail);

/// <summary>
/// Streams a JSONL file: one JSON object a line, UTF-8 (a BOM is tolerated), "\n" or "\r\n" line ends,
/// blank lines skipped. A bad line in the middle is a <see cref="DataFormatException"/> naming the line
/// (and the JSON path for schema faults); an unterminated, unparseable last line is a torn tail.
/// </summary>
public static class JsonlReader
{
    public static IEnumerable<JsonlRecord<T>> Read<T>(string path, IJsonlCodec<T> codec, JsonlReadOptions? options = null)
    {
        using FileStream stream = OpenForReading(path);
        foreach (JsonlRecord<T> record in Read(stream, path, codec, options))
            yield return record;
    }

    public static IEnumerable<JsonlRecord<T>> Read<T>(Stream stream, string sourceName, IJsonlCodec<T> codec, JsonlReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        options ??= new JsonlReadOptions();
        foreach (JsonlLine line in JsonlLines.Read(stream))
        {
            if (line.IsBlank)
                continue;
            using JsonDocument? document = ParseLine(line, sourceName, options);
            if (document is null)
                yield break; // torn tail: it is the last line by construction
            yield return new JsonlRecord<T>(line.Number, codec.Read(new JsonSource(sourceName, line.Number).Root(document)));
        }
    }

    public static JsonlReadResult<T> ReadAll<T>(string path, IJsonlCodec<T> codec, bool strict = false)
    {
        using FileStream stream = OpenForReading(path);
        return ReadAll(stream, path, codec, strict);
    }

    public static JsonlReadResult<T> ReadAll<T>(Stream stream, string sourceName, IJsonlCodec<T> codec, bool strict = false)
    {
        JsonlTornTail? tornTail = null;
        var options = new JsonlReadOptions { Strict = strict, OnTornTail = tail => tornTail = tail };
        var records = Read(stream, sourceName, codec, options).Select(r => r.Value).ToList();
        return new JsonlReadResult<T>(records, tornTail);
    }

    /// <summary>Writes records as JSONL to a stream (no fsync; use <see cref="WriteFile{T}"/> or an appender for files).</summary>
    public static void Write<T>(Stream stream, IJsonlCodec<T> codec, IEnumerable<T> records)
    {
        foreach (T record in records)
            stream.Write(JsonlLines.Serialize(codec, record));
    }

    /// <summary>Replaces the file atomically with these records.</summary>
    public static void WriteFile<T>(string path, IJsonlCodec<T> codec, IEnumerable<T> records) =>
        AtomicFile.Write(path, stream => Write(stream, codec, records));

    /// <summary>Readers share the file with a live appender.</summary>
    internal static FileStream OpenForReading(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);

    /// <summary>The parsed line, or null for a torn tail (after reporting it or throwing in strict mode).</summary>
    internal static JsonDocument? ParseLine(JsonlLine line, string sourceName, JsonlReadOptions options)
    {
        try
        {
            return JsonDocument.Parse(line.Bytes, TurnJson.DocumentOptions);
        }
        catch (JsonException e) when (!line.Terminated)
        {
            var tail = new JsonlTornTail(sourceName, line.Number, line.ByteOffset, line.Bytes.Length, e.Message);
            if (options.Strict)
                throw new DataFormatException(sourceName, $"line {line.Number}", $"torn last line (no newline at the end, not valid JSON): {e.Message}", e);
            options.OnTornTail?.Invoke(tail);
            return null;
        }
        catch (JsonException e)
        {
            throw new JsonSource(sourceName, line.Number).SyntaxError(e, JsonSyntaxErrorFormat.Record);
        }
    }
}

/// <summary>One physical line, without its line end (and without the BOM on line 1). Bytes stay valid until the next line is read.</summary>
internal readonly record struct JsonlLine(int Number, long ByteOffset, ReadOnlyMemory<byte> Bytes, bool Terminated)
{
    public bool IsBlank
    {
        get
        {
            foreach (byte b in Bytes.Span)
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
                    return false;
            return true;
        }
    }
}

internal static class JsonlLines
{
    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Splits a stream on '\n' with a growing buffer, so a line of any length is read whole.</summary>
    public static IEnumerable<JsonlLine> Read(Stream stream)
    {
        byte[] buffer = new byte[1 << 16];
        int start = 0, end = 0, scanFrom = 0, number = 0;
        long bufferOffset = 0; // file offset of buffer[0]
        bool endOfStream = false;
        while (true)
        {
            int newline = buffer.AsSpan(scanFrom, end - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int length = scanFrom - start + newline;
                yield return MakeLine(++number, bufferOffset + start, buffer.AsMemory(start, length), terminated: true);
                start = scanFrom = start + length + 1;
                continue;
            }
            if (endOfStream)
            {
                if (end > start)
                    yield return MakeLine(++number, bufferOffset + start, buffer.AsMemory(start, end - start), terminated: false);
                yield break;
            }
            scanFrom = end;
            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                bufferOffset += start;
                scanFrom -= start;
                end -= start;
                start = 0;
            }
            if (end == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            int read = stream.Read(buffer, end, buffer.Length - end);
            if (read == 0) endOfStream = true;
            else end += read;
        }
    }

    private static JsonlLine MakeLine(int number, long offset, ReadOnlyMemory<byte> bytes, bool terminated)
    {
        if (offset == 0 && bytes.Span.StartsWith(Utf8Bom))
            (offset, bytes) = (3, bytes[3..]);
        if (terminated && bytes.Span.EndsWith((byte)'\r'))
            bytes = bytes[..^1];
        return new JsonlLine(number, offset, bytes, terminated);
    }

    /// <summary>One record as a complete line: compact JSON and "\n".</summary>
    public static byte[] Serialize<T>(IJsonlCodec<T> codec, T record)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, TurnJson.LineWriterOptions))
            codec.Write(writer, record);
        byte[] line = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(line);
        line[^1] = (byte)'\n';
        return line;
    }
}
