using OnnxCoEvo.Cuda;

namespace OnnxCoEvo.Tests.Native;

/// <summary>Why GPU and native-library tests cannot run in this process (null when they can).</summary>
internal static class NativeTestGate
{
    /// <summary>"CUDA backend unavailable: ..." unless a device is usable.</summary>
    public static string? GpuSkipReason => CudaBackend.Probe() is { IsAvailable: false } p ? p.Description : null;

    /// <summary>Non-null unless libcoevo_cuda loaded (a device is not needed).</summary>
    public static string? LibrarySkipReason =>
        CudaBackend.Probe() is { LibraryAbiVersion: null } p ? $"libcoevo_cuda not loaded: {p.Description}" : null;
}

/// <summary>A fact that needs a CUDA device; skipped with the probe's reason where there is none.</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute() => Skip = NativeTestGate.GpuSkipReason;
}

/// <summary>A theory that needs a CUDA device; skipped with the probe's reason where there is none.</summary>
public sealed class GpuTheoryAttribute : TheoryAttribute
{
    public GpuTheoryAttribute() => Skip = NativeTestGate.GpuSkipReason;
}

/// <summary>A fact that needs libcoevo_cuda to load, but no device (argument checks, versions).</summary>
public sealed class CudaLibraryFactAttribute : FactAttribute
{
    public CudaLibraryFactAttribute() => Skip = NativeTestGate.LibrarySkipReason;
}

/// <summary>A theory that needs libcoevo_cuda to load, but no device.</summary>
public sealed class CudaLibraryTheoryAttribute : TheoryAttribute
{
    public CudaLibraryTheoryAttribute() => Skip = NativeTestGate.LibrarySkipReason;
}
