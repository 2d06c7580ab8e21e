using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>Whole-file JSON (ETO, AgentGym arrays; ETO explored objects): parse with positions, write indented UTF-8.</summary>
internal static class JsonFiles
{
    /// <summary>Parses a whole JSON document; a syntax error names the line and byte.</summary>
    public static JsonDocument Parse(Stream stream, string sourceName) =>
        new JsonSource(sourceName).Parse(stream, JsonSyntaxErrorFormat.LineByte, TurnJson.DocumentOptions);

    /// <summary>Visits the items of a top-level JSON array, each with path "$[i]", while the document is alive.</summary>
    public static void ForEachItem(Stream stream, string sourceName, Action<LocatedJson> visit)
    {
        using JsonDocument document = Parse(stream, sourceName);
        foreach (LocatedJson item in new JsonSource(sourceName).Root(document).Items())
            visit(item);
    }

    public static List<T> ReadArray<T>(Stream stream, string sourceName, Func<LocatedJson, T> readItem)
    {
        var items = new List<T>();
        ForEachItem(stream, sourceName, item => items.Add(readItem(item)));
        return items;
    }

    public static List<T> ReadArray<T>(string path, Func<LocatedJson, T> readItem)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return ReadArray(stream, path, readItem);
    }

    public static void WriteArray<T>(Stream stream, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeItem)
    {
        using var writer = new Utf8JsonWriter(stream, TurnJson.IndentedWriterOptions);
        writer.WriteStartArray();
        foreach (T item in items)
            writeItem(writer, item);
        writer.WriteEndArray();
        writer.Flush();
        stream.Write("\n"u8);
    }

    public static void WriteArray<T>(string path, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeItem) =>
        AtomicFile.Write(path, stream => WriteArray(stream, items, writeItem));

    /// <summary>The first byte that is not whitespace or a BOM, or -1 for an empty stream; the stream is rewound.</summary>
    public static int PeekFirstSignificantByte(Stream stream)
    {
        long start = stream.Position;
        try
        {
            int b;
            int index = 0;
            while ((b = stream.ReadByte()) >= 0)
            {
                bool bom = index < 3 && b == (index == 0 ? 0xEF : index == 1 ? 0xBB : 0xBF);
                index++;
                if (!bom && b is not (' ' or '\t' or '\r' or '\n'))
                    return b;
            }
            return -1;
        }
        finally
        {
            stream.Position = start;
        }
    }

    /// <summary>Streams that cannot seek are copied to memory so the format can be sniffed first.</summary>
    public static Stream Seekable(Stream stream)
    {
        if (stream.CanSeek) return stream;
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }
}
