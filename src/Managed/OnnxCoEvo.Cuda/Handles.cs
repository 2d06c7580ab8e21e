using System.Runtime.InteropServices;

namespace OnnxCoEvo.Cuda;

/// <summary>Owns a <c>coevo_context*</c>; released with coevo_context_destroy.</summary>
public sealed class CudaContextHandle : SafeHandle
{
    public CudaContextHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.coevo_context_destroy(handle);
        return true;
    }
}

/// <summary>Owns a <c>coevo_buffer*</c>; released with coevo_buffer_free (independent of its context's lifetime).</summary>
public sealed class CudaBufferHandle : SafeHandle
{
    public CudaBufferHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <summary>The NULL buffer, for the ABI's optional arguments (never disposed).</summary>
    internal static CudaBufferHandle Null { get; } = new();

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.coevo_buffer_free(handle);
        return true;
    }
}
