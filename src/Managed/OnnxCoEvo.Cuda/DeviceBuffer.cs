using System.Runtime.CompilerServices;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// A typed, fixed-length array in device memory (a <c>coevo_buffer</c>), dense and row-major like every tensor of
/// the native ABI. Copies go through the owning context's stream.
/// </summary>
public sealed unsafe class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    internal DeviceBuffer(CudaContext context, int length)
    {
        Context = context;
        Length = length;
        NativeMethods.Check(NativeMethods.coevo_buffer_alloc(context.Handle, checked((nuint)SizeInBytes), out CudaBufferHandle handle));
        Handle = handle;
    }

    public CudaContext Context { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    public long SizeInBytes => (long)Length * sizeof(T);

    /// <summary>The size the library holds for this buffer (coevo_buffer_size): equals <see cref="SizeInBytes"/>.</summary>
    public long AllocatedBytes => (long)NativeMethods.coevo_buffer_size(Handle);

    public CudaBufferHandle Handle { get; }

    /// <summary>Copies <paramref name="source"/> into elements [offset, offset + source.Length).</summary>
    public void CopyFrom(ReadOnlySpan<T> source, int offset = 0)
    {
        CheckRange(offset, source.Length);
        fixed (T* src = source)
        {
            NativeMethods.Check(NativeMethods.coevo_buffer_upload(Context.Handle, Handle, ByteOffset(offset), src,
                (nuint)((long)source.Length * sizeof(T))));
        }
    }

    /// <summary>Copies elements [offset, offset + destination.Length) to the host after queued work has finished.</summary>
    public void CopyTo(Span<T> destination, int offset = 0)
    {
        CheckRange(offset, destination.Length);
        fixed (T* dst = destination)
        {
            NativeMethods.Check(NativeMethods.coevo_buffer_download(Context.Handle, Handle, ByteOffset(offset), dst,
                (nuint)((long)destination.Length * sizeof(T))));
        }
    }

    /// <summary>The whole buffer, downloaded.</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyTo(result);
        return result;
    }

    public void Dispose() => Handle.Dispose();

    private static nuint ByteOffset(int offset) => (nuint)((long)offset * Unsafe.SizeOf<T>());

    private void CheckRange(int offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if ((long)offset + count > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"elements [{offset}, {(long)offset + count}) exceed the buffer's {Length}");
        }
    }
}
