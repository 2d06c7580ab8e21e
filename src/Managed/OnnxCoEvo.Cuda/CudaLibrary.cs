using System.Reflection;
using System.Runtime.InteropServices;
using OnnxCoEvo.Core.Interop;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// Loads libcoevo_cuda once per process: from COEVO_CUDA_LIB if set, else next to the application or this assembly,
/// else the system search. P/Invoke calls reach it through <see cref="Resolve"/>.
/// </summary>
internal static class CudaLibrary
{
    private static readonly Lazy<NativeLibraryLoad> s_load = new(() => Locate(Environment.GetEnvironmentVariable(CudaBackend.LibraryVariable)));

    public static NativeLibraryLoad Load => s_load.Value;

    public static NativeLibraryLoad Locate(string? overridePath) =>
        NativeLibraryLocator.Load(CudaBackend.LibraryFileName, CudaBackend.LibraryVariable, overridePath,
            [AppContext.BaseDirectory],
            typeof(CudaLibrary).Assembly);

    // Compares the name before touching Load: Locate's own system search (NativeLibrary.Load with this assembly) also
    // passes through this resolver, with the file name, and must not re-enter the Lazy.
    public static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == NativeMethods.LibraryName && Load.IsLoaded ? Load.Handle : IntPtr.Zero;
}
