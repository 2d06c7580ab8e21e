using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// Durable appends to a JSONL file. Each <see cref="Append"/> or <see cref="AppendRange"/> serialises its
/// lines first, then writes them with one write call and fsyncs before returning, so a crash loses at most
/// the line being written. Thread-safe (one lock); one appender per file per process (a second Open of the
/// same path throws). Other processes must not append to the same file: rollout shards write their own files.
/// <para>
/// Torn tail on open: when the file does not end with "\n", its last line is checked. A complete JSON line
/// that merely lacks its newline (written by another tool) gets the newline. Anything else is a torn tail:
/// its bytes are first written (and fsynced) to a side file <c>&lt;name&gt;.torn-&lt;UTC timestamp&gt;</c>, then the
/// file is truncated to the start of that line. So the file stays valid JSONL, the next record starts on its
/// own line, and no bytes are destroyed silently. <see cref="RecoveredTornTail"/> reports what was moved.
/// A crash between the two steps only leaves a duplicate side file; the next open repeats the move.
/// </para>
/// </summary>
public sealed class JsonlAppender<T> : IDisposable
{
    private readonly IJsonlCodec<T> _codec;
    private readonly FileStream _stream;
    private readonly object _gate = new();
    private bool _disposed;

    private JsonlAppender(string fullPath, IJsonlCodec<T> codec, FileStream stream, JsonlTornTail? recovered)
    {
        FilePath = fullPath;
        _codec = codec;
        _stream = stream;
        RecoveredTornTail = recovered;
    }

    public string FilePath { get; }

    /// <summary>The torn last line found (and moved aside) when the file was opened, or null.</summary>
    public JsonlTornTail? RecoveredTornTail { get; }

    /// <summary>Opens (creating if needed) a JSONL file for appending, repairing a torn last line first.</summary>
    public static JsonlAppender<T> Open(string path, IJsonlCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        string fullPath = Path.GetFullPath(path);
        if (!JsonlAppenderRegistry.OpenPaths.TryAdd(fullPath, true))
            throw new InvalidOperationException($"{fullPath} is already open for appending in this process");
        FileStream? stream = null;
        try
        {
            string directory = Path.GetDirectoryName(fullPath)!;
            Directory.CreateDirectory(directory);
            bool created = !File.Exists(fullPath);
            // bufferSize 0: no FileStream buffer, so each Write is one write system call on the file.
            stream = new FileStream(fullPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
            if (created)
                DirectoryDurability.Flush(directory); // the new file's name must survive a crash, not only its lines
            JsonlTornTail? recovered = RepairTail(stream, fullPath);
            stream.Seek(0, SeekOrigin.End);
            return new JsonlAppender<T>(fullPath, codec, stream, recovered);
        }
        catch
        {
            stream?.Dispose();
            JsonlAppenderRegistry.OpenPaths.TryRemove(fullPath, out _);
            throw;
        }
    }

    public void Append(T record) => WriteDurably(JsonlLines.Serialize(_codec, record));

    /// <summary>Appends all records with one write and one fsync (all are serialised, and so validated, first).</summary>
    public void AppendRange(IEnumerable<T> records)
    {
        var buffer = new MemoryStream();
        foreach (T record in records)
            buffer.Write(JsonlLines.Serialize(_codec, record));
        if (buffer.Length > 0)
            WriteDurably(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    private void WriteDurably(ReadOnlySpan<byte> lines)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long before = _stream.Position;
            try
            {
                _stream.Write(lines);
                _stream.Flush(flushToDisk: true);
            }
            catch
            {
                // A failed write (disk full) may leave part of a line: cut it so the next append starts clean.
                try { _stream.SetLength(before); _stream.Position = before; }
                catch (IOException) { /* the torn tail is repaired on the next open */ }
                throw;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _stream.Dispose();
            JsonlAppenderRegistry.OpenPaths.TryRemove(FilePath, out _);
        }
    }

    /// <summary>See the class remarks. Returns the torn tail that was moved aside, or null.</summary>
    private static JsonlTornTail? RepairTail(FileStream stream, string fullPath)
    {
        long length = stream.Length;
        if (length == 0 || ReadByteAt(stream, length - 1) == (byte)'\n')
            return null;
        long tailStart = FindLastLineStart(stream, length);
        byte[] tail = new byte[length - tailStart];
        stream.Position = tailStart;
        stream.ReadExactly(tail);

        int lineNumber = CountNewlines(stream, tailStart) + 1;
        var line = new JsonlLine(lineNumber, tailStart, tail, Terminated: false);
        string? problem = null;
        if (!line.IsBlank)
        {
            try { using var _ = JsonDocument.Parse(StripBom(tail, tailStart), TurnJson.DocumentOptions); }
            catch (JsonException e) { problem = e.Message; }
        }
        if (problem is null)
        {
            // Complete (or blank) last line without its newline: terminate it, lose nothing.
            stream.Seek(0, SeekOrigin.End);
            stream.Write("\n"u8);
            stream.Flush(flushToDisk: true);
            return null;
        }

        string sideFile = WriteSideFile(fullPath, tail);
        stream.SetLength(tailStart);
        stream.Flush(flushToDisk: true);
        return new JsonlTornTail(fullPath, lineNumber, tailStart, tail.Length, problem, sideFile);
    }

    private static string WriteSideFile(string fullPath, byte[] tail)
    {
        string stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);
        for (int attempt = 0; ; attempt++)
        {
            string sideFile = attempt == 0 ? $"{fullPath}.torn-{stamp}" : $"{fullPath}.torn-{stamp}-{attempt}";
            try
            {
                using var side = new FileStream(sideFile, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                side.Write(tail);
                side.Flush(flushToDisk: true);
                DirectoryDurability.Flush(Path.GetDirectoryName(sideFile)!);
                return sideFile;
            }
            catch (IOException) when (File.Exists(sideFile) && attempt < 100)
            {
                // Same millisecond as an earlier repair: try the next suffix.
            }
        }
    }

    private static ReadOnlyMemory<byte> StripBom(byte[] tail, long tailStart) =>
        tailStart == 0 && tail.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? tail.AsMemory(3) : tail;

    private static byte ReadByteAt(FileStream stream, long offset)
    {
        stream.Position = offset;
        return (byte)stream.ReadByte();
    }

    /// <summary>Offset just after the last '\n' before <paramref name="length"/> (0 when there is none), scanning backwards.</summary>
    private static long FindLastLineStart(FileStream stream, long length)
    {
        byte[] chunk = new byte[1 << 16];
        long end = length;
        while (end > 0)
        {
            int count = (int)Math.Min(chunk.Length, end);
            stream.Position = end - count;
            stream.ReadExactly(chunk, 0, count);
            int newline = chunk.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
                return end - count + newline + 1;
            end -= count;
        }
        return 0;
    }

    /// <summary>Line number bookkeeping for the report; reads the file once, only when a repair is needed.</summary>
    private static int CountNewlines(FileStream stream, long upTo)
    {
        byte[] chunk = new byte[1 << 16];
        int count = 0;
        stream.Position = 0;
        for (long done = 0; done < upTo;)
        {
            int n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, upTo - done));
            if (n == 0) break;
            count += chunk.AsSpan(0, n).Count((byte)'\n');
            done += n;
        }
        return count;
    }
}

/// <summary>Paths with a live appender in this process, whatever the record type (a static of the generic class would be per type).</summary>
internal static class JsonlAppenderRegistry
{
    public static readonly ConcurrentDictionary<string, bool> OpenPaths = new(StringComparer.Ordinal);
}
