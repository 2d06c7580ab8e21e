using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>
/// A read-only, memory-mapped safetensors file. The header is validated on open exactly as the format specifies, so
/// every later read is in bounds. Spans from <see cref="GetBytes(string)"/> point into the mapping: they must not be
/// used after <see cref="Dispose"/> (every method checks for disposal; the typed readers also keep the mapping alive
/// while they copy, so a concurrent Dispose cannot unmap under them).
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private const int ConversionChunkElements = 1 << 20;

    private readonly Dictionary<string, TensorInfo> _byName;
    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data; // first byte of the tensor buffer (file byte 8 + N)
    private int _disposed;

    private SafeTensorsFile(string filePath, long fileLength, long dataStart, List<TensorInfo> tensors,
        Dictionary<string, string> metadata, MemoryMappedFile mapping, MemoryMappedViewAccessor view)
    {
        FilePath = filePath;
        FileLength = fileLength;
        DataStart = dataStart;
        Tensors = tensors;
        Names = tensors.Select(t => t.Name).ToArray();
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _mapping = mapping;
        _view = view;
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        _data = start + view.PointerOffset + dataStart;
    }

    public string FilePath { get; }

    public long FileLength { get; }

    /// <summary>File offset of the tensor buffer: 8 + header length.</summary>
    public long DataStart { get; }

    /// <summary>Tensors in the order of their bytes in the file.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public IReadOnlyList<string> Names { get; }

    /// <summary>The header's "__metadata__" map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafeTensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this reader maps it directly and needs a little-endian CPU");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
                throw new DataFormatException(path, "byte 0", $"file is {fileLength} bytes; a safetensors file starts with an 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafeTensorsHeader.MaxHeaderLength)
                throw new DataFormatException(path, "byte 0", $"header length {headerLength} exceeds the format's limit of {SafeTensorsHeader.MaxHeaderLength} bytes");
            if (8 + (long)headerLength > fileLength)
                throw new DataFormatException(path, "byte 0", $"header length {headerLength} runs past the end of the file ({fileLength} bytes)");

            var header = new byte[headerLength];
            stream.ReadExactly(header);
            long dataStart = 8 + (long)headerLength;
            List<TensorInfo> tensors = SafeTensorsHeader.Parse(path, header, fileLength - dataStart, out Dictionary<string, string> metadata);

            MemoryMappedFile mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                MemoryMappedViewAccessor view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                return new SafeTensorsFile(path, fileLength, dataStart, tensors, metadata, mapping, view);
            }
            catch
            {
                mapping.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info) => _byName.TryGetValue(name, out info);

    public TensorInfo Get(string name) =>
        _byName.TryGetValue(name, out TensorInfo? info) ? info : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor (at most 2 GiB; use the ranged overload for larger ones).</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        TensorInfo info = Get(name);
        if (info.ByteLength > int.MaxValue)
            throw new InvalidOperationException($"{FilePath}: tensor '{name}' has {info.ByteLength} bytes, more than one span can hold; read it in ranges");
        return GetBytes(name, 0, (int)info.ByteLength);
    }

    /// <summary><paramref name="byteCount"/> raw bytes of a tensor starting <paramref name="byteOffset"/> bytes into it.</summary>
    public ReadOnlySpan<byte> GetBytes(string name, long byteOffset, int byteCount)
    {
        TensorInfo info = Get(name);
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        if (byteOffset + byteCount > info.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(byteCount), $"[{byteOffset}, {byteOffset + byteCount}) is outside tensor '{name}' ({info.ByteLength} bytes)");
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new ReadOnlySpan<byte>(_data + info.Begin + byteOffset, byteCount);
    }

    /// <summary>A F32, F16 or BF16 tensor as a new float array.</summary>
    public float[] ReadAsFloat32(string name)
    {
        TensorInfo info = RequireFloatTensor(name);
        var values = new float[info.ElementCount];
        CopyAsFloat32(info, values);
        return values;
    }

    /// <summary>Converts a F32, F16 or BF16 tensor into <paramref name="destination"/>, which must hold exactly its element count.</summary>
    public void CopyAsFloat32(string name, Span<float> destination) => CopyAsFloat32(RequireFloatTensor(name), destination);

    private void CopyAsFloat32(TensorInfo info, Span<float> destination)
    {
        if (destination.Length != info.ElementCount)
            throw new ArgumentException($"tensor '{info.Name}' has {info.ElementCount} elements but the destination holds {destination.Length}", nameof(destination));
        int elementSize = info.DType.ByteSize();
        bool addedRef = false;
        var handle = _view.SafeMemoryMappedViewHandle;
        try
        {
            // Holding a reference keeps the view mapped even if another thread disposes this file meanwhile.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            handle.DangerousAddRef(ref addedRef);
            for (int done = 0; done < destination.Length; done += ConversionChunkElements)
            {
                int count = Math.Min(ConversionChunkElements, destination.Length - done);
                var source = new ReadOnlySpan<byte>(_data + info.Begin + (long)done * elementSize, count * elementSize);
                FloatConversions.DecodeToFloat32(source, info.DType, destination.Slice(done, count));
            }
        }
        finally
        {
            if (addedRef)
                handle.DangerousRelease();
        }
    }

    private TensorInfo RequireFloatTensor(string name)
    {
        TensorInfo info = Get(name);
        if (!info.DType.IsFloat32Convertible())
            throw new DataFormatException(FilePath, $"tensor '{name}' field dtype", $"is {info.DType.ToHeaderString()}; expected F32, F16 or BF16");
        return info;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }
}
