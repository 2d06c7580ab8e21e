using OnnxCoEvo.Cuda;
using OnnxCoEvo.Training.Cpu;

namespace OnnxCoEvo.Tests.Native;

/// <summary>
/// Kernel native/kernels/rmsnorm.cu against its CPU twin RmsNorm.cs. Parity rule (DESIGN.md, FlashAttention's) in
/// fp32: the kernel's error against a double reference is at most twice that of the naive fp32 computation (plus a
/// floor of a few ulps), and the kernel agrees with the twin to a tight relative bound.
/// </summary>
public sealed class RmsNormParityTests
{
    [GpuTheory]
    [InlineData(64, 576)]
    [InlineData(512, 576)]
    [InlineData(128, 2048)]
    [InlineData(256, 4096)]
    [InlineData(512, 4096)]
    [InlineData(200, 100)]
    [InlineData(65, 77)]
    [InlineData(3, 5000)]
    public void Forward_KernelMatchesCpuTwin(int rows, int dim)
    {
        const float eps = 1e-5f;
        float[] x = Parity.Uniform(seed: rows * 31 + dim, rows * dim, scale: 3f);
        float[] w = Parity.Uniform(seed: dim + 1, dim, scale: 0.25f, offset: 1f);

        var yCpu = new float[rows * dim];
        var rstdCpu = new float[rows];
        RmsNorm.Forward(x, w, yCpu, rstdCpu, rows, dim, eps);

        using CudaContext ctx = CudaBackend.Create(0);
        using DeviceBuffer<float> dx = ctx.Upload<float>(x);
        using DeviceBuffer<float> dw = ctx.Upload<float>(w);
        using DeviceBuffer<float> dy = ctx.Allocate<float>(rows * dim);
        using DeviceBuffer<float> drstd = ctx.Allocate<float>(rows);
        ctx.RmsNormForward(dx, dw, dy, drstd, rows, dim, eps);
        float[] yGpu = dy.ToArray();
        float[] rstdGpu = drstd.ToArray();

        Parity.AssertClose(rstdGpu, rstdCpu, rtol: 2e-6, atol: 0, "rstd");
        Parity.AssertClose(yGpu, yCpu, rtol: 1e-5, atol: 1e-6, "y");

        (double[] yRef, double[] rstdRef) = Parity.RmsNormNaive(x, w, rows, dim, (double)eps);
        (float[] yNaive, float[] rstdNaive) = Parity.RmsNormNaive(x, w, rows, dim, eps);
        AssertWithinBudget(yGpu, yNaive, yRef, "y");
        AssertWithinBudget(rstdGpu, rstdNaive, rstdRef, "rstd");
    }

    [GpuFact]
    public void Forward_RejectsTooSmallBuffersWithNativeMessage()
    {
        using CudaContext ctx = CudaBackend.Create(0);
        using DeviceBuffer<float> x = ctx.Allocate<float>(4 * 8);
        using DeviceBuffer<float> w = ctx.Allocate<float>(8);
        using DeviceBuffer<float> y = ctx.Allocate<float>(4 * 8 - 1);
        using DeviceBuffer<float> rstd = ctx.Allocate<float>(4);

        var ex = Assert.Throws<CudaException>(() => ctx.RmsNormForward(x, w, y, rstd, 4, 8, 1e-6f));
        Assert.Equal(CudaStatus.InvalidArgument, ex.Status);
        Assert.Contains("y [rows, dim] holds 124 bytes but 128 are needed", ex.NativeMessage);

        ex = Assert.Throws<CudaException>(() => ctx.RmsNormForward(x, w, x, rstd, 4, 8, 1e-6f));
        Assert.Equal(CudaStatus.InvalidArgument, ex.Status);
        Assert.Contains("distinct", ex.NativeMessage);
    }

    [GpuFact]
    public void DeviceBuffer_RoundTripsWithOffsets()
    {
        using CudaContext ctx = CudaBackend.Create(0);
        float[] data = Parity.Uniform(seed: 5, 1000);
        using DeviceBuffer<float> buffer = ctx.Upload<float>(data);
        Assert.Equal(1000, buffer.Length);
        Assert.Equal(data, buffer.ToArray());

        buffer.CopyFrom([1f, 2f, 3f], offset: 997);
        var tail = new float[4];
        buffer.CopyTo(tail, offset: 996);
        Assert.Equal([data[996], 1f, 2f, 3f], tail);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyTo(tail, offset: 997));
        ctx.Synchronize();
    }

    [GpuFact]
    public void Create_OnMissingDevice_ThrowsNotAvailable()
    {
        var ex = Assert.Throws<CudaException>(() => CudaBackend.Create(4096));
        Assert.Equal(CudaStatus.NotAvailable, ex.Status);
        Assert.Contains("device 4096 does not exist", ex.NativeMessage);
    }

    // Parity rule: max error of the kernel vs the double reference <= 2 x that of the naive fp32 computation, with a
    // floor of 4 ulps of the largest reference value (for shapes where the naive sum happens to be exact).
    private static void AssertWithinBudget(float[] kernel, float[] naive, double[] reference, string what)
    {
        double kernelError = Parity.MaxAbsError(kernel, reference);
        double budget = 2 * Parity.MaxAbsError(naive, reference) + 4 * Math.ScaleB(Parity.MaxAbs(reference), -23);
        Assert.True(kernelError <= budget, $"{what}: kernel error {kernelError:G3} exceeds budget {budget:G3}");
    }
}
