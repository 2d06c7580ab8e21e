namespace OnnxCoEvo.Core;

/// <summary>
/// Publishes a directory whole: its files are written into a staging sibling "{name}.tmp-{random}" (each file fsynced),
/// which is then renamed to its final name (atomic on POSIX) and the parent fsynced. Readers see the old directory,
/// no directory, or the complete new one, never a half-written one under the final name.
/// </summary>
public static class AtomicDirectory
{
    public const string StagingMarker = ".tmp-";

    /// <summary>Creates and returns a fresh staging directory beside <paramref name="target"/>.</summary>
    public static string CreateStaging(string target)
    {
        string full = Path.GetFullPath(target);
        string staging = $"{full}{StagingMarker}{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>Renames <paramref name="staging"/> to <paramref name="target"/>, which must not exist, and makes the rename durable.</summary>
    public static void Publish(string staging, string target)
    {
        string full = Path.GetFullPath(target);
        if (Directory.Exists(full) || File.Exists(full))
            throw new IOException($"{full} already exists; it is left as it is");
        Directory.Move(staging, full);
        DirectoryDurability.Flush(Path.GetDirectoryName(full) ?? ".");
    }

    /// <summary>
    /// Puts <paramref name="staging"/> in place of an existing <paramref name="target"/>: the old directory is renamed
    /// aside, the new one renamed in, then the old one deleted. A crash between the two renames leaves the old content
    /// whole at "{name}.tmp-{random}".
    /// </summary>
    public static void Replace(string staging, string target)
    {
        string full = Path.GetFullPath(target);
        if (!Directory.Exists(full))
        {
            Publish(staging, full);
            return;
        }
        string aside = $"{full}{StagingMarker}{Guid.NewGuid():N}";
        Directory.Move(full, aside);
        try
        {
            Publish(staging, full);
        }
        catch
        {
            Directory.Move(aside, full);
            throw;
        }
        DeleteQuietly(aside);
    }

    /// <summary>Best-effort recursive delete (a leftover is harmless: readers ignore staging names).</summary>
    public static void DeleteQuietly(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
