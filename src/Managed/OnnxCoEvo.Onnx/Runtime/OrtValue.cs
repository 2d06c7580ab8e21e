using System.Buffers;
using System.Runtime.CompilerServices;
using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>
/// An OrtValue tensor on the CPU. Values made from managed memory pin it for their lifetime (ORT does not copy);
/// values allocated by ORT own their buffer. Type, shape and data address are fixed for a value's life, so they are
/// read once.
/// </summary>
public sealed unsafe class OrtValue : IDisposable
{
    private readonly OrtValueHandle _handle;
    private MemoryHandle _pin;
    private int _disposed;
    private bool _described;
    private TensorElementType _elementType;
    private long[] _shape = [];
    private long _elementCount;
    private IntPtr _data;

    private OrtValue(OrtValueHandle handle, MemoryHandle pin)
    {
        _handle = handle;
        _pin = pin;
    }

    /// <summary>Wraps an OrtValue* this object now owns (e.g. a Run output).</summary>
    internal static OrtValue FromOwned(IntPtr value) => new(new OrtValueHandle(value), default);

    internal OrtValueHandle Handle => _handle;

    /// <summary>A tensor over <paramref name="data"/> (pinned until disposed), shape checked against its length.</summary>
    /// <exception cref="ArgumentException">T has no tensor element type, or the shape does not match the length.</exception>
    public static OrtValue FromMemory<T>(Memory<T> data, ReadOnlySpan<long> shape) where T : unmanaged =>
        FromMemory(data, shape, TensorElementTypes.Of<T>() ?? throw new ArgumentException(
            $"{typeof(T).Name} has no ONNX tensor element type; use the overload that names one.", nameof(T)));

    /// <summary>A tensor of <paramref name="elementType"/> over <paramref name="data"/>, whose elements must have the same
    /// size (e.g. ushort for BFloat16/Float16 bits).</summary>
    public static OrtValue FromMemory<T>(Memory<T> data, ReadOnlySpan<long> shape, TensorElementType elementType) where T : unmanaged
    {
        int elementSize = elementType.SizeInBytes();
        if (elementSize == 0)
        {
            throw new ArgumentException($"Element type {elementType} has no fixed-size layout.", nameof(elementType));
        }

        if (elementSize != sizeof(T))
        {
            throw new ArgumentException($"{elementType} elements are {elementSize} bytes but {typeof(T).Name} is {sizeof(T)}.", nameof(elementType));
        }

        long count = CountElements(shape);
        if (count != data.Length)
        {
            throw new ArgumentException(
                $"Shape {FormatShape(shape)} has {count} elements but data has {data.Length}.", nameof(data));
        }

        OrtEnvironment env = OrtEnvironment.Shared;
        OrtApi api = env.Api;
        MemoryHandle pin = data.Pin();
        try
        {
            IntPtr value;
            fixed (long* dims = shape)
            {
                api.ThrowIfError(api.CreateTensorWithDataAsOrtValue(env.CpuMemoryInfo.Pointer, pin.Pointer,
                    (nuint)(count * elementSize), dims, (nuint)shape.Length, elementType, &value));
            }

            var result = new OrtValue(new OrtValueHandle(value), pin);
            result.Describe(elementType, shape.ToArray(), count, (IntPtr)pin.Pointer);
            return result;
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>A tensor ORT allocates (CPU), zero-filled is not guaranteed.</summary>
    public static OrtValue Allocate(TensorElementType type, ReadOnlySpan<long> shape)
    {
        if (type.SizeInBytes() == 0)
        {
            throw new ArgumentException($"Element type {type} has no fixed-size layout.", nameof(type));
        }

        long count = CountElements(shape);
        OrtEnvironment env = OrtEnvironment.Shared;
        OrtApi api = env.Api;
        IntPtr value;
        fixed (long* dims = shape)
        {
            api.ThrowIfError(api.CreateTensorAsOrtValue(env.DefaultAllocator, dims, (nuint)shape.Length, type, &value));
        }

        return FromOwned(value);
    }

    public TensorElementType ElementType
    {
        get
        {
            EnsureDescribed();
            return _elementType;
        }
    }

    /// <summary>The dims (a copy).</summary>
    public long[] Shape
    {
        get
        {
            EnsureDescribed();
            return (long[])_shape.Clone();
        }
    }

    /// <summary>The dims without a copy.</summary>
    public ReadOnlySpan<long> Dimensions
    {
        get
        {
            EnsureDescribed();
            return _shape;
        }
    }

    /// <summary>Number of elements (product of the dims).</summary>
    public long ElementCount
    {
        get
        {
            EnsureDescribed();
            return _elementCount;
        }
    }

    /// <summary>The tensor's CPU data; T must match <see cref="ElementType"/> (checked; 16-bit integers may view
    /// Float16/BFloat16 bits).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        EnsureDescribed();
        if (!TensorElementTypes.CanView<T>(_elementType))
        {
            throw new InvalidOperationException($"The tensor holds {_elementType} elements; they cannot be read as {typeof(T).Name}.");
        }

        if (_elementCount > int.MaxValue)
        {
            throw new InvalidOperationException($"The tensor has {_elementCount} elements, more than a Span can address.");
        }

        return new Span<T>((void*)_data, (int)_elementCount);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Release ORT's value before unpinning the memory it points at.
        _handle.Dispose();
        _pin.Dispose();
    }

    internal static long CountElements(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            }

            count = checked(count * d);
        }

        return count;
    }

    private static string FormatShape(ReadOnlySpan<long> shape) => $"[{string.Join(",", shape.ToArray())}]";

    private void Describe(TensorElementType type, long[] shape, long count, IntPtr data)
    {
        _elementType = type;
        _shape = shape;
        _elementCount = count;
        _data = data;
        Volatile.Write(ref _described, true); // after the fields: a racing reader sees all of them or describes again
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureDescribed()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!Volatile.Read(ref _described))
        {
            DescribeFromOrt();
        }
    }

    private void DescribeFromOrt()
    {
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr value = _handle.Pointer;
        int isTensor;
        api.ThrowIfError(api.IsTensor(value, &isTensor));
        if (isTensor == 0)
        {
            throw new InvalidOperationException("The OrtValue is not a tensor (sequence, map or optional values are not supported).");
        }

        IntPtr rawInfo;
        api.ThrowIfError(api.GetTensorTypeAndShape(value, &rawInfo));
        using var info = new OrtTensorTypeAndShapeInfoHandle(rawInfo);
        TensorElementType type;
        nuint rank;
        api.ThrowIfError(api.GetTensorElementType(rawInfo, &type));
        api.ThrowIfError(api.GetDimensionsCount(rawInfo, &rank));
        long[] shape = new long[(int)rank];
        fixed (long* dims = shape)
        {
            api.ThrowIfError(api.GetDimensions(rawInfo, dims, rank));
        }

        void* data;
        api.ThrowIfError(api.GetTensorMutableData(value, &data));
        Describe(type, shape, CountElements(shape), (IntPtr)data);
    }
}
