using System.Runtime.InteropServices;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Cuda;
using OnnxCoEvo.Onnx.Native;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("doctor", HelpText = "Report what this machine offers: .NET, cores, the ONNX Runtime library, the CUDA backend.")]
public sealed class DoctorCommand : ICliCommand
{
    public int Run()
    {
        var table = new KeyValueTable("component", "status");

        table.Add("coevo", typeof(DoctorCommand).Assembly.GetName().Version?.ToString(3) ?? "unknown");
        table.Add(".NET", $"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");
        table.Add("CPU cores", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.Add("SIMD", $"Vector256 {(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "yes" : "no")}, " +
                    $"FMA {(System.Runtime.Intrinsics.X86.Fma.IsSupported ? "yes" : "no")}, " +
                    $"AVX-512 {(System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "yes" : "no")}");

        bool ortOk;
        try
        {
            OrtLibrary ort = OrtLibrary.Default;
            table.Add("ONNX Runtime", $"{ort.VersionString} (API {OrtLibrary.ApiVersion}) from {ort.Path}");
            ortOk = true;
        }
        catch (OrtLoadException e)
        {
            table.Add("ONNX Runtime", $"unavailable: {e.Message}");
            ortOk = false;
        }

        CudaAvailability cuda = CudaBackend.Probe();
        table.Add("CUDA backend", cuda.Description);
        if (cuda.BuildInfo is { } info)
            table.Add("  native library", $"{info} ({cuda.LibraryPath})");
        for (int i = 0; i < cuda.Devices.Count; i++)
            table.Add($"  device {i}", cuda.Devices[i]);

        table.Write();
        // ONNX Runtime is required (inference, export); CUDA is optional (the CPU backend always works).
        return ortOk ? 0 : 1;
    }
}
