using OnnxCoEvo.Cuda;
using OnnxCoEvo.Cuda.Parity;

namespace OnnxCoEvo.Tests.Native;

/// <summary>
/// The parity harness (OnnxCoEvo.Cuda.Parity.KernelParity, also behind `coevo bench kernels --check`): every kernel of
/// native/kernels/ against its CPU twin under DESIGN.md's rule. On a GPU: the real kernels at Llama-3.2-1B shapes (and
/// the head_dim 128 attention of Llama-3.1-8B). Everywhere: the harness itself against a CPU emulation of correct
/// kernels (must pass) and of a broken one (must fail, and only there).
/// </summary>
public sealed class KernelParityTests
{
    public static TheoryData<string> KernelNames => new(KernelParity.Kernels);

    [GpuTheory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_MatchesItsCpuTwin_AtLlama32_1BShapes(string kernel)
    {
        using CudaContext context = CudaBackend.Create(0);
        var device = new CudaKernelDevice(context, CudaBackend.Probe().Devices[0]);
        AssertAllPass(KernelParity.Run(device, ParityShapes.Llama32_1B, EmulatedKernelDevice.Sampler, [kernel]));
    }

    [GpuFact]
    public void Attention_HeadDim128_MatchesItsCpuTwin()
    {
        using CudaContext context = CudaBackend.Create(0);
        var device = new CudaKernelDevice(context, CudaBackend.Probe().Devices[0]);
        AssertAllPass(KernelParity.Run(device, ParityShapes.Llama31_8BAttention, EmulatedKernelDevice.Sampler, ["attention", "attention_tc"]));
    }

    [Fact]
    public void Harness_AcceptsCorrectKernels_OnEveryOutput()
    {
        List<ParityResult> results = KernelParity.Run(new EmulatedKernelDevice(), ParityShapes.Small, EmulatedKernelDevice.Sampler);

        Assert.Equal(KernelParity.Kernels, results.Select(r => r.Kernel).Distinct());
        AssertAllPass(results);
    }

    [Theory]
    [InlineData("swiglu")]
    [InlineData("attention")]
    [InlineData("attention_tc")]
    [InlineData("lora")]
    [InlineData("sampling")]
    public void Harness_RejectsABrokenKernel_AndOnlyIt(string broken)
    {
        List<ParityResult> results = KernelParity.Run(new EmulatedKernelDevice(broken), ParityShapes.Small, EmulatedKernelDevice.Sampler);

        Assert.Contains(results, r => r.Kernel == broken && !r.Passed);
        Assert.All(results.Where(r => r.Kernel != broken), r => Assert.True(r.Passed, Describe(r)));
    }

    [Fact]
    public void Check_IsTwiceTheNaiveErrorPlusAnFp32Floor()
    {
        float[] reference = [1f, -2f, 4f];
        float[] naive = [1.01f, -2f, 4f]; // naive error 0.01
        ParityResult within = KernelParity.Check("k", "y", "Twin", "[3]", [1f, -2.0199f, 4f], reference, naive);
        ParityResult beyond = KernelParity.Check("k", "y", "Twin", "[3]", [1f, -2.0202f, 4f], reference, naive);
        ParityResult notFinite = KernelParity.Check("k", "y", "Twin", "[3]", [float.NaN, -2f, 4f], reference, naive);

        Assert.True(within.Passed, Describe(within));
        Assert.Equal(2 * ((double)1.01f - 1) + Math.ScaleB(4, -20), within.Budget, 12);
        Assert.False(beyond.Passed);
        Assert.Contains("worst element 1", beyond.Note);
        Assert.False(notFinite.Passed);
    }

    [Fact]
    public void Run_RejectsAnUnknownKernelName()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            KernelParity.Run(new EmulatedKernelDevice(), ParityShapes.Small, EmulatedKernelDevice.Sampler, ["softmax"]));
        Assert.Contains("unknown kernel 'softmax'", ex.Message);
    }

    private static void AssertAllPass(IEnumerable<ParityResult> results) =>
        Assert.All(results, r => Assert.True(r.Passed, Describe(r)));

    private static string Describe(ParityResult r) =>
        $"{r.Kernel} {r.Output} ({r.Twin}, {r.Shape}): error {r.KernelError:G3}, naive {r.NaiveError:G3}, budget {r.Budget:G3}; {r.Note}";
}
