using System.Text.RegularExpressions;
using OnnxCoEvo.Core.Interop;
using OnnxCoEvo.Cuda;

namespace OnnxCoEvo.Tests.Native;

/// <summary>The CUDA backend's probe and library loading; all of it runs without a GPU.</summary>
public sealed partial class CudaBackendTests
{
    [Fact]
    public void Probe_ReturnsADescriptionInsteadOfThrowing()
    {
        CudaAvailability probe = CudaBackend.Probe();

        Assert.StartsWith(probe.IsAvailable ? "CUDA backend available: " : "CUDA backend unavailable: ", probe.Description);
        if (!probe.IsAvailable)
        {
            Assert.Empty(probe.Devices);
            var ex = Assert.Throws<CudaException>(() => CudaBackend.Create(0));
            Assert.Equal(CudaStatus.NotAvailable, ex.Status);
            Assert.Equal(probe.Description, ex.NativeMessage);
        }
    }

    [Fact]
    public void NativeLibrary_WhenBuilt_LoadsAndReportsTheHeadersAbiVersion()
    {
        int headerAbi = HeaderAbiVersion();
        Assert.Equal(NativeMethods.AbiVersion, headerAbi);

        if (Environment.GetEnvironmentVariable(CudaBackend.LibraryVariable) is { Length: > 0 })
        {
            return; // a user-chosen library: nothing to say about what this build produced
        }

        CudaAvailability probe = CudaBackend.Probe();
        bool built = File.Exists(Path.Combine(AppContext.BaseDirectory, CudaBackend.LibraryFileName));
        if (built)
        {
            // Loading needs no driver: the CUDA runtime is linked statically and opens libcuda.so.1 lazily.
            Assert.Equal(headerAbi, probe.LibraryAbiVersion);
            Assert.Contains("CUDA runtime", probe.BuildInfo);
            Assert.True(probe.IsAvailable || probe.Description.Contains("no CUDA device: ", StringComparison.Ordinal), probe.Description);
        }
        else
        {
            Assert.Null(probe.LibraryAbiVersion);
            Assert.Contains("libcoevo_cuda.so was not built (no nvcc at build time)", probe.Description);
        }
    }

    [CudaLibraryFact]
    public void NativeArgumentChecks_ReportInvalidArgumentWithMessage_WithoutADevice()
    {
        using var noContext = new CudaContextHandle();
        using var noBuffer = new CudaBufferHandle();

        var ex = Assert.Throws<CudaException>(() => NativeMethods.Check(
            NativeMethods.coevo_rmsnorm_forward_f32(noContext, noBuffer, noBuffer, noBuffer, noBuffer, 4, 4, 1e-6f)));

        Assert.Equal(CudaStatus.InvalidArgument, ex.Status);
        Assert.Equal("coevo_rmsnorm_forward_f32: context is NULL", ex.NativeMessage);
        Assert.Equal(0u, NativeMethods.coevo_buffer_size(noBuffer));
        Assert.Equal(NativeMethods.AbiVersion, NativeMethods.coevo_abi_version());
    }

    [Fact]
    public void Locate_WithMissingOverride_NamesTheVariableAndPath()
    {
        NativeLibraryLoad load = CudaLibrary.Locate("/nonexistent/libcoevo_cuda.so");

        Assert.Equal(NativeLibraryOutcome.OverrideMissing, load.Outcome);
        Assert.Contains("COEVO_CUDA_LIB=/nonexistent/libcoevo_cuda.so: no such file", load.Message);
    }

    private static int HeaderAbiVersion()
    {
        string header = Path.Combine(RepoRoot(), "native", "include", "coevo.h");
        Match m = AbiDefine().Match(File.ReadAllText(header));
        Assert.True(m.Success, $"no COEVO_ABI_VERSION in {header}");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The checkout's root (the folder holding OnnxCoEvo.sln) above the test binaries.</summary>
    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnnxCoEvo.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"OnnxCoEvo.sln not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^#define COEVO_ABI_VERSION (\d+)", RegexOptions.Multiline)]
    private static partial Regex AbiDefine();
}
