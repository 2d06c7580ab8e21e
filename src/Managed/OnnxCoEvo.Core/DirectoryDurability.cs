using System.Runtime.InteropServices;

namespace OnnxCoEvo.Core;

/// <summary>
/// fsync of a directory, so that a file created in it survives a power loss (fsync of the file alone does not
/// make its directory entry durable on Linux). Best effort and Linux only: elsewhere, or on failure, it does nothing.
/// </summary>
public static partial class DirectoryDurability
{
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            int fd = Open(directory, flags: 0); // O_RDONLY; works on directories
            if (fd < 0)
                return;
            _ = Fsync(fd);
            _ = Close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No glibc (e.g. musl under another name): the file itself is still fsynced.
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc.so.6", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);
}
