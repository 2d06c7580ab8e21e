using System.Runtime.InteropServices;
using OnnxCoEvo.Core.Interop;

namespace OnnxCoEvo.Onnx.Native;

/// <summary>ONNX Runtime could not be loaded or is too old; the message names the file or variable to fix.</summary>
public sealed class OrtLoadException : Exception
{
    public OrtLoadException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// A loaded ONNX Runtime library and its C API table. Found, in order: the file named by COEVO_ORT_LIB (a user's own
/// build, e.g. one with GPU providers), libonnxruntime.so.1 next to the application or this assembly (fetched from
/// npm by eng/fetch-onnxruntime.sh and copied by the build), then the system search. Needs ORT >= 1.30 (C API 30).
/// </summary>
public sealed unsafe class OrtLibrary
{
    /// <summary>Environment variable that names the ONNX Runtime library to use.</summary>
    public const string PathVariable = "COEVO_ORT_LIB";

    public const string FileName = "libonnxruntime.so.1";

    /// <summary>The OrtApi version requested (ORT_API_VERSION of ORT 1.30).</summary>
    public const uint ApiVersion = 30;

    private static readonly Lazy<OrtLibrary> s_default = new(() => Load(Environment.GetEnvironmentVariable(PathVariable)));

    private OrtLibrary(string path, string versionString, OrtApi api)
    {
        Path = path;
        VersionString = versionString;
        Api = api;
    }

    /// <summary>The library chosen by COEVO_ORT_LIB or the default search, loaded once per process.</summary>
    /// <exception cref="OrtLoadException">It cannot be found, loaded, or lacks C API 30.</exception>
    public static OrtLibrary Default => s_default.Value;

    /// <summary>The file loaded (the bare file name when the system search found it).</summary>
    public string Path { get; }

    /// <summary>OrtApiBase.GetVersionString(), e.g. "1.30.0".</summary>
    public string VersionString { get; }

    /// <summary>The API-30 function table.</summary>
    public OrtApi Api { get; }

    /// <summary>
    /// Loads ONNX Runtime from <paramref name="overridePath"/> (treated as the value of COEVO_ORT_LIB: when given,
    /// nothing else is tried), or else from the default locations.
    /// </summary>
    /// <exception cref="OrtLoadException">With the variable, the path and the loader's message.</exception>
    public static OrtLibrary Load(string? overridePath)
    {
        NativeLibraryLoad load = NativeLibraryLocator.Load(FileName, PathVariable, overridePath,
            [AppContext.BaseDirectory],
            typeof(OrtLibrary).Assembly);
        if (!load.IsLoaded)
        {
            throw new OrtLoadException(load.Outcome switch
            {
                NativeLibraryOutcome.NotFound => $"ONNX Runtime: {load.Message}. Run eng/fetch-onnxruntime.sh (needs npm) " +
                    $"and rebuild, or set {PathVariable} to a {FileName} (ONNX Runtime >= 1.30).",
                NativeLibraryOutcome.LoadFailed => $"ONNX Runtime failed to load: {load.Message}.",
                _ => $"ONNX Runtime: {load.Message}.",
            });
        }

        if (!NativeLibrary.TryGetExport(load.Handle, "OrtGetApiBase", out IntPtr getApiBase))
        {
            throw new OrtLoadException($"ONNX Runtime: {load.Path} does not export OrtGetApiBase; it is not an ONNX Runtime library.");
        }

        var apiBase = ((delegate* unmanaged<OrtApiBase*>)getApiBase)();
        string version = Marshal.PtrToStringUTF8((IntPtr)apiBase->GetVersionString()) ?? "";
        void* table = apiBase->GetApi(ApiVersion);
        if (table == null)
        {
            throw new OrtLoadException($"ONNX Runtime {version} at {load.Path} does not provide C API version {ApiVersion} " +
                $"(it supports up to {HighestApiVersion(apiBase)}); OnnxCoEvo needs ONNX Runtime >= 1.30.");
        }

        return new OrtLibrary(load.Path, version, new OrtApi(table));
    }

    // GetApi(v) returns NULL above the library's version (printing a note to stderr), so probe downwards.
    private static uint HighestApiVersion(OrtApiBase* apiBase)
    {
        for (uint v = ApiVersion - 1; v >= 1; v--)
        {
            if (apiBase->GetApi(v) != null)
            {
                return v;
            }
        }

        return 0;
    }
}
