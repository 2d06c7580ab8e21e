using System.Runtime.InteropServices;
using OnnxCoEvo.Core.Interop;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// Whether the CUDA backend can run here, and why not. <see cref="Description"/> is one line for users and test
/// skips: "CUDA backend available: ..." or "CUDA backend unavailable: &lt;reason&gt;".
/// </summary>
/// <param name="IsAvailable">The library loaded, its ABI matches, and at least one device is visible.</param>
/// <param name="Description">One line: what is available, or the reason it is not.</param>
/// <param name="LibraryPath">The library file loaded (null when none was).</param>
/// <param name="LibraryAbiVersion">coevo_abi_version() of the loaded library (null when none was loaded).</param>
/// <param name="BuildInfo">coevo_build_info() of the loaded library (null when none was loaded).</param>
/// <param name="Devices">Names of the visible devices, index = device number (empty when unavailable).</param>
public sealed record CudaAvailability(bool IsAvailable, string Description, string? LibraryPath, int? LibraryAbiVersion,
    string? BuildInfo, IReadOnlyList<string> Devices);

/// <summary>Entry point of the CUDA backend: probe it, then create contexts on its devices.</summary>
public static class CudaBackend
{
    /// <summary>Environment variable that names a libcoevo_cuda.so to use instead of the one next to the binaries.</summary>
    public const string LibraryVariable = "COEVO_CUDA_LIB";

    public const string LibraryFileName = "libcoevo_cuda.so";

    private const string Unavailable = "CUDA backend unavailable: ";

    private static readonly Lazy<CudaAvailability> s_probe = new(ProbeOnce);

    /// <summary>
    /// Loads the library (once per process) and asks it for devices. Never throws: every failure becomes an
    /// unavailable result whose description says what is missing.
    /// </summary>
    public static CudaAvailability Probe() => s_probe.Value;

    /// <summary>"major.minor.patch" of the loaded library (coevo_version), or null when none loaded.</summary>
    public static string? LibraryVersion()
    {
        if (Probe().LibraryAbiVersion is null)
            return null;
        int v = NativeMethods.coevo_version();
        return $"{v / 10000}.{v / 100 % 100}.{v % 100}";
    }

    /// <summary>Creates a context (device + stream) on <paramref name="device"/>.</summary>
    /// <exception cref="CudaException">The backend is unavailable (status NotAvailable, with the probe's reason) or
    /// the device could not be set up.</exception>
    public static CudaContext Create(int device = 0)
    {
        CudaAvailability probe = Probe();
        if (!probe.IsAvailable)
        {
            throw new CudaException(CudaStatus.NotAvailable, probe.Description);
        }

        return new CudaContext(device);
    }

    private static CudaAvailability ProbeOnce()
    {
        NativeLibraryLoad load = CudaLibrary.Load;
        switch (load.Outcome)
        {
            case NativeLibraryOutcome.NotFound:
                return Fail($"{LibraryFileName} was not built (no nvcc at build time): {load.Message}. " +
                    $"Build it with eng/build-native.sh on a machine with nvcc, or set {LibraryVariable}.");
            case NativeLibraryOutcome.OverrideMissing:
            case NativeLibraryOutcome.LoadFailed:
                return Fail($"library failed to load: {load.Message}");
        }

        int abi;
        string buildInfo;
        try
        {
            abi = NativeMethods.coevo_abi_version();
            buildInfo = Marshal.PtrToStringUTF8(NativeMethods.coevo_build_info()) ?? "";
        }
        catch (EntryPointNotFoundException ex)
        {
            return Fail($"library failed to load: {load.Path} is not a libcoevo_cuda build: {ex.Message}");
        }

        if (abi != NativeMethods.AbiVersion)
        {
            return Fail($"{load.Path} has ABI version {abi} but this assembly needs {NativeMethods.AbiVersion}; rebuild it (eng/build-native.sh)",
                load.Path, abi, buildInfo);
        }

        CudaStatus status = NativeMethods.coevo_device_count(out int count);
        if (status != CudaStatus.Ok || count == 0)
        {
            string why = status != CudaStatus.Ok ? NativeMethods.LastError() : "the driver reports 0 devices";
            return Fail($"no CUDA device: {why}", load.Path, abi, buildInfo);
        }

        var devices = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            devices.Add(DeviceName(i));
        }

        return new CudaAvailability(true,
            $"CUDA backend available: {count} device(s) [{string.Join(", ", devices)}]; {buildInfo}; {load.Path}",
            load.Path, abi, buildInfo, devices);
    }

    private static unsafe string DeviceName(int device)
    {
        byte* name = stackalloc byte[256];
        return NativeMethods.coevo_device_name(device, name, 256) == CudaStatus.Ok
            ? Marshal.PtrToStringUTF8((IntPtr)name) ?? $"device {device}"
            : $"device {device} ({NativeMethods.LastError()})";
    }

    private static CudaAvailability Fail(string reason, string? path = null, int? abi = null, string? buildInfo = null) =>
        new(false, Unavailable + reason, path, abi, buildInfo, []);
}
