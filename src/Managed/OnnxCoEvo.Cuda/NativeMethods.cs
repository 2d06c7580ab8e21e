using System.Runtime.InteropServices;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// Every function of native/include/coevo.h, one line each, in the header's order. Nothing else calls into
/// libcoevo_cuda. Strings coming back are borrowed (<c>const char*</c> owned by the library), so they are declared as
/// pointers and copied with <see cref="Marshal.PtrToStringUTF8(IntPtr)"/>, never freed.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The name P/Invoke asks for; <see cref="CudaLibrary"/> resolves it to the actual file.</summary>
    public const string LibraryName = "coevo_cuda";

    /// <summary>COEVO_ABI_VERSION of the header these declarations were written against.</summary>
    public const int AbiVersion = 1;

    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, CudaLibrary.Resolve);

    // ---- library ----
    [LibraryImport(LibraryName)] public static partial IntPtr coevo_last_error();
    [LibraryImport(LibraryName)] public static partial int coevo_abi_version();
    [LibraryImport(LibraryName)] public static partial int coevo_version();
    [LibraryImport(LibraryName)] public static partial IntPtr coevo_build_info();
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_device_count(out int count);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_device_name(int device, byte* name, nuint capacity);

    // ---- context ----
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_create(int device, out CudaContextHandle context);
    [LibraryImport(LibraryName)] public static partial void coevo_context_destroy(IntPtr context);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_synchronize(CudaContextHandle context);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_device(CudaContextHandle context, out int device);

    // ---- buffers ----
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_alloc(CudaContextHandle context, nuint bytes, out CudaBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial void coevo_buffer_free(IntPtr buffer);
    [LibraryImport(LibraryName)] public static partial nuint coevo_buffer_size(CudaBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_upload(CudaContextHandle context, CudaBufferHandle buffer, nuint offset, void* src, nuint bytes);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_download(CudaContextHandle context, CudaBufferHandle buffer, nuint offset, void* dst, nuint bytes);

    // ---- kernels ----
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rmsnorm_forward_f32(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle y, CudaBufferHandle rstd, int rows, int dim, float eps);

    /// <summary>The calling thread's last native error message.</summary>
    public static string LastError() => Marshal.PtrToStringUTF8(coevo_last_error()) ?? "";

    /// <summary>Throws <see cref="CudaException"/> with the native message unless <paramref name="status"/> is OK.</summary>
    public static void Check(CudaStatus status)
    {
        if (status != CudaStatus.Ok)
        {
            throw new CudaException(status, LastError());
        }
    }
}
