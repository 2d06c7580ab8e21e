using System.Reflection;
using System.Runtime.InteropServices;

namespace OnnxCoEvo.Core.Interop;

/// <summary>How a native library lookup ended.</summary>
public enum NativeLibraryOutcome
{
    /// <summary>The library is loaded; <see cref="NativeLibraryLoad.Handle"/> is valid.</summary>
    Loaded,

    /// <summary>The override variable names a file that does not exist.</summary>
    OverrideMissing,

    /// <summary>No candidate file exists and the system search found nothing.</summary>
    NotFound,

    /// <summary>A file was found but the dynamic loader refused it (missing dependency, wrong architecture, ...).</summary>
    LoadFailed,
}

/// <summary>Result of <see cref="NativeLibraryLocator.Load"/>: a handle, or why there is none.</summary>
/// <param name="Outcome">How the lookup ended.</param>
/// <param name="Handle">The loaded library (zero unless <see cref="NativeLibraryOutcome.Loaded"/>).</param>
/// <param name="Path">The file that was loaded or tried; the bare file name when the system search was used.</param>
/// <param name="Message">What happened, naming the variable, paths and the loader's own error text (for LoadFailed:
/// "&lt;what was tried&gt;: &lt;loader message&gt;", for the caller to prefix with its own "failed to load").</param>
public sealed record NativeLibraryLoad(NativeLibraryOutcome Outcome, IntPtr Handle, string Path, string Message)
{
    public bool IsLoaded => Outcome == NativeLibraryOutcome.Loaded;
}

/// <summary>
/// Finds and loads a native library in the toolkit's order: an explicit override (a user's own build, named by an
/// environment variable), then the given directories (normally next to the assemblies), then the system's default
/// search (LD_LIBRARY_PATH, ldconfig, single-file bundle extraction). Never throws for a missing or broken library;
/// the caller turns the result into its own error or "unavailable" report.
/// </summary>
public static class NativeLibraryLocator
{
    /// <param name="fileName">File name as on disk, e.g. "libonnxruntime.so.1".</param>
    /// <param name="overrideVariable">Name of the environment variable the override came from (for messages).</param>
    /// <param name="overridePath">Value of that variable; null or empty for none. When set, nothing else is tried.</param>
    /// <param name="directories">Directories to look in before the system search.</param>
    /// <param name="probingAssembly">When given, the system search is the runtime's own native probing for this
    /// assembly (which also finds libraries a single-file bundle extracted); else plain dlopen of the name.</param>
    public static NativeLibraryLoad Load(string fileName, string overrideVariable, string? overridePath,
        IEnumerable<string> directories, Assembly? probingAssembly = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(directories);

        if (!string.IsNullOrEmpty(overridePath))
        {
            string full = System.IO.Path.GetFullPath(overridePath);
            return File.Exists(full)
                ? LoadFile(full, $"{overrideVariable}={overridePath}")
                : new NativeLibraryLoad(NativeLibraryOutcome.OverrideMissing, IntPtr.Zero, full,
                    $"{overrideVariable}={overridePath}: no such file ({full})");
        }

        var looked = new List<string>();
        IEnumerable<string> dirs = directories.Where(d => !string.IsNullOrEmpty(d))
            .Select(d => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(d)))
            .Distinct(StringComparer.Ordinal);
        foreach (string dir in dirs)
        {
            string candidate = System.IO.Path.Combine(dir, fileName);
            looked.Add(dir);
            if (File.Exists(candidate))
            {
                return LoadFile(candidate, candidate);
            }
        }

        try
        {
            IntPtr handle = probingAssembly is null
                ? NativeLibrary.Load(fileName)
                : NativeLibrary.Load(fileName, probingAssembly, searchPath: null);
            return new NativeLibraryLoad(NativeLibraryOutcome.Loaded, handle, fileName, $"{fileName} from the system library path");
        }
        catch (DllNotFoundException ex)
        {
            // The loader says "No such file" when nothing by that name exists anywhere; anything else means a file
            // was found on the system path but could not be loaded (a missing dependency, say).
            string detail = LoaderDetail(ex);
            if (!detail.Contains("No such file", StringComparison.Ordinal))
            {
                return new NativeLibraryLoad(NativeLibraryOutcome.LoadFailed, IntPtr.Zero, fileName,
                    $"{fileName} from the system library path: {detail}");
            }

            string where = looked.Count == 0 ? "" : $" in {string.Join(", ", looked)} or";
            return new NativeLibraryLoad(NativeLibraryOutcome.NotFound, IntPtr.Zero, fileName,
                $"{fileName} not found{where} on the system library path");
        }
    }

    // .NET wraps the dynamic loader's messages (one per attempted name) in a generic preamble; keep the former.
    private static string LoaderDetail(Exception ex)
    {
        string[] lines = ex.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        IEnumerable<string> specific = lines.Where(l => !l.StartsWith("Unable to load shared library", StringComparison.Ordinal));
        string joined = string.Join("; ", specific.Distinct(StringComparer.Ordinal));
        return joined.Length > 0 ? joined : ex.Message;
    }

    private static NativeLibraryLoad LoadFile(string path, string described)
    {
        try
        {
            return new NativeLibraryLoad(NativeLibraryOutcome.Loaded, NativeLibrary.Load(path), path, described);
        }
        catch (Exception ex) when (ex is DllNotFoundException or BadImageFormatException)
        {
            return new NativeLibraryLoad(NativeLibraryOutcome.LoadFailed, IntPtr.Zero, path,
                $"{described}: {LoaderDetail(ex)}");
        }
    }
}
