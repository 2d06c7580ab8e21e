namespace OnnxCoEvo.Core;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content, never a torn one:
/// write to a temporary sibling, flush to disk, rename over the target (atomic on POSIX), then fsync the directory.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> writeContent)
    {
        ArgumentNullException.ThrowIfNull(writeContent);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                writeContent(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            // The rename is durable only once the directory entry is: fsync the directory too.
            DirectoryDurability.Flush(dir);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { /* best effort: the target is untouched either way */ }
            throw;
        }
    }

    public static void WriteAllText(string path, string content) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true); w.Write(content); });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        byte[] copy = content.ToArray();
        Write(path, s => s.Write(copy));
    }
}
