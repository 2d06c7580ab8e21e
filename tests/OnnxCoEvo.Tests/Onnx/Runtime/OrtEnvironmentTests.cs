using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OrtEnvironmentTests
{
    [Fact]
    public void Shared_IsOneEnvironment_OverOrt130()
    {
        OrtEnvironment env = OrtEnvironment.Shared;

        Assert.Same(env, OrtEnvironment.Shared);
        Assert.StartsWith("1.30", env.Version);
        Assert.Contains("git-commit-id", env.BuildInfo);
    }

    [Fact]
    public void AvailableProviders_EndWithCpu_NamesOfProviders()
    {
        IReadOnlyList<string> providers = OrtEnvironment.Shared.AvailableProviders;

        // ORT lists by priority, CPU last; the npm build also compiles in TensorRT, CUDA and WebGPU.
        Assert.Equal("CPUExecutionProvider", providers[^1]);
        Assert.All(providers, p => Assert.EndsWith("ExecutionProvider", p));
        Assert.Equal(providers, OrtEnvironment.Shared.AvailableProviders); // released and re-read
    }
}
