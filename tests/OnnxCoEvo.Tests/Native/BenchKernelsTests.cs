using OnnxCoEvo.Cli;
using OnnxCoEvo.Cli.Commands;
using OnnxCoEvo.Core;
using OnnxCoEvo.Cuda;
using OnnxCoEvo.Cuda.Bench;

namespace OnnxCoEvo.Tests.Native;

/// <summary>`coevo bench kernels`: what it does without a GPU, how it reads the PyTorch peers, how it judges the targets.</summary>
public sealed class BenchKernelsTests
{
    [NoGpuFact]
    public void WithoutAGpu_BothModesExitWithStatus2()
    {
        Assert.Equal(2, Program.Dispatch(["bench", "kernels", "--check"], TextWriter.Null));
        Assert.Equal(2, Program.Dispatch(["bench", "kernels", "--quick"], TextWriter.Null));
    }

    [Fact]
    public void EveryCase_HasAPeerOfTheSameNameInTheTorchScript()
    {
        string script = File.ReadAllText(Path.Combine(CudaBackendTests.RepoRoot(), "bench", "torch", "kernels.py"));
        int open = script.IndexOf("CASES = [", StringComparison.Ordinal), close = script.IndexOf(']', open);
        string[] torchCases = System.Text.RegularExpressions.Regex.Matches(script[open..close], "\"([a-z0-9_]+)\"").Select(m => m.Groups[1].Value).ToArray();

        Assert.Equal("attention_fwd_2k", KernelBenchmarks.PeerName("attention_fwd_2k_tc"));
        Assert.Equal("token_logprobs_bwd", KernelBenchmarks.PeerName("token_logprobs_bwd_c64"));
        Assert.All(KernelBenchmarks.CaseNames, name => Assert.Contains(KernelBenchmarks.PeerName(name), torchCases));
        Assert.All(torchCases, name => Assert.Contains(name, KernelBenchmarks.CaseNames));
    }

    [Fact]
    public void ReadTorch_ParsesThePeerScript_AndNamesAMalformedFile()
    {
        string directory = Path.Combine(Path.GetTempPath(), "coevo-torch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string good = Path.Combine(directory, "good.json"), bad = Path.Combine(directory, "bad.json");
            File.WriteAllText(good, """
                {"device": "NVIDIA H100 80GB HBM3", "torch": "2.11.0", "cuda": "13.0", "tokens": 8192,
                 "cases": [{"name": "rmsnorm_fwd", "op": "F.rms_norm", "ms": 0.05, "peak_bytes": null},
                           {"name": "token_logprobs_fwd", "op": "matmul", "ms": 9.5, "peak_bytes": 4200000000}],
                 "errors": {}}
                """);
            File.WriteAllText(bad, """{"device": "x", "tokens": "many"}""");

            TorchKernelReport report = BenchKernelsCommand.ReadTorch(good);
            Assert.Equal(8192, report.Tokens);
            Assert.Equal(4_200_000_000, report.Cases[1].PeakBytes);
            var ex = Assert.Throws<DataFormatException>(() => BenchKernelsCommand.ReadTorch(bad));
            Assert.Equal(bad, ex.FilePath);
            Assert.Contains("tokens", ex.Position);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Targets_AreJudgedFromTheMeasuredRows()
    {
        static KernelBenchRow Row(string name, double ms, double? bytes, double? copyFraction, double? torchMs, long? peak = null, long? torchPeak = null) =>
            new(new KernelTiming(name, name, "", ms, bytes, bytes is null ? 1e12 : null, peak, peak is null ? null : 0),
                copyFraction, torchMs is null ? null : new TorchKernelTiming(name, "peer", torchMs.Value, torchPeak));
        KernelBenchRow[] rows =
        [
            Row("d2d_copy", 1, 2e9, 1, null),
            Row("rmsnorm_fwd", 1, 1e9, 0.85, 1.2),
            Row("swiglu_fwd", 1, 1e9, 0.6, 0.9),
            Row("attention_fwd_2k", 1, null, null, 1.5),
            Row("attention_bwd_2k", 2, null, null, 1.4),
            Row("token_logprobs_fwd", 4, null, null, 7, peak: 500, torchPeak: 4000),
        ];

        List<KernelTarget> targets = BenchKernelsCommand.Targets(rows);

        Assert.True(targets.Single(t => t.Name == "rmsnorm_fwd bandwidth").Met);
        Assert.False(targets.Single(t => t.Name == "swiglu_fwd bandwidth").Met);
        Assert.DoesNotContain(targets, t => t.Name.StartsWith("d2d_copy", StringComparison.Ordinal));
        Assert.False(targets.Single(t => t.Name == "attention fwd+bwd 2k").Met); // 3 ms vs 2.9 ms
        Assert.Null(targets.Single(t => t.Name == "attention fwd+bwd 8k").Met);   // not measured
        Assert.True(targets.Single(t => t.Name == "token_logprobs_fwd").Met);     // 1.75x at 1/8 of the memory
        Assert.Equal(1000, rows[1].Timing.GigabytesPerSecond!.Value, 6);                      // 1 GB in 1 ms
        Assert.Equal(1000 / H100Roofline.HbmGigabytesPerSecond, rows[1].Timing.FractionOfRoofline!.Value, 9);
        Assert.Equal(1000, rows[3].Timing.TeraFlopsPerSecond!.Value, 6);                       // 1e12 FLOP in 1 ms
    }
}

/// <summary>A fact for machines without a usable GPU (skipped where one is: there the command would really run).</summary>
public sealed class NoGpuFactAttribute : FactAttribute
{
    public NoGpuFactAttribute()
    {
        if (CudaBackend.Probe().IsAvailable)
            Skip = "a CUDA device is available: the command would run its benchmarks";
    }
}
