namespace OnnxCoEvo.Cuda;

/// <summary>
/// One device and one CUDA stream (a <c>coevo_context</c>). Kernels are queued on the stream and return at once;
/// <see cref="DeviceBuffer{T}.CopyTo"/> and <see cref="Synchronize"/> wait for them. Not thread-safe: use one
/// context per thread, or serialise calls.
/// </summary>
public sealed partial class CudaContext : IDisposable
{
    internal CudaContext(int device)
    {
        NativeMethods.Check(NativeMethods.coevo_context_create(device, out CudaContextHandle handle));
        Handle = handle;
        Device = device;
    }

    public int Device { get; }

    public CudaContextHandle Handle { get; }

    /// <summary>The device the library says this context lives on (coevo_context_device): equals <see cref="Device"/>.</summary>
    public int QueryDevice()
    {
        NativeMethods.Check(NativeMethods.coevo_context_device(Handle, out int device));
        return device;
    }

    /// <summary>Allocates an uninitialised buffer of <paramref name="length"/> elements on this context's device.</summary>
    public DeviceBuffer<T> Allocate<T>(int length)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new DeviceBuffer<T>(this, length);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public DeviceBuffer<T> Upload<T>(ReadOnlySpan<T> data)
        where T : unmanaged
    {
        DeviceBuffer<T> buffer = Allocate<T>(data.Length);
        try
        {
            buffer.CopyFrom(data);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Waits for all work queued on this context; reports errors of kernels that already returned.</summary>
    public void Synchronize() => NativeMethods.Check(NativeMethods.coevo_context_synchronize(Handle));

    /// <summary>
    /// RMSNorm forward (kernel native/kernels/rmsnorm.cu; CPU twin OnnxCoEvo.Training.Cpu.RmsNorm.Forward):
    /// rstd[r] = 1 / sqrt(mean(x[r, :]^2) + eps), y[r, c] = x[r, c] * rstd[r] * weight[c]. x, y are [rows, dim]
    /// row-major, weight [dim], rstd [rows] (saved for the backward pass). Queued on the stream.
    /// </summary>
    /// <exception cref="CudaException">Status InvalidArgument with the native message when a buffer is too small,
    /// aliased, or a dimension is out of range; CudaError when the launch fails.</exception>
    public void RmsNormForward(DeviceBuffer<float> x, DeviceBuffer<float> weight, DeviceBuffer<float> y,
        DeviceBuffer<float> rstd, int rows, int dim, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(rstd);
        NativeMethods.Check(NativeMethods.coevo_rmsnorm_forward_f32(Handle, x.Handle, weight.Handle, y.Handle, rstd.Handle,
            rows, dim, eps));
    }

    public void Dispose() => Handle.Dispose();
}
