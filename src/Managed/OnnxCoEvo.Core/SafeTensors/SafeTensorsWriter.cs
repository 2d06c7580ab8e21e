using System.Runtime.InteropServices;

namespace OnnxCoEvo.Core.SafeTensors;

/// <summary>A tensor held in memory, for the simple (non-streaming) write.</summary>
public sealed record TensorData(TensorSpec Spec, ReadOnlyMemory<byte> Bytes)
{
    public static TensorData FromBytes(string name, TensorDType dtype, IReadOnlyList<long> shape, ReadOnlyMemory<byte> bytes) =>
        new(new TensorSpec(name, dtype, shape), bytes);

    /// <summary>Encodes floats as <paramref name="dtype"/> (F32, F16, or BF16 rounded to nearest even).</summary>
    public static TensorData FromFloat32(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values, TensorDType dtype = TensorDType.F32)
    {
        var bytes = new byte[checked(values.Length * dtype.ByteSize())];
        FloatConversions.EncodeFloat32(values, dtype, bytes);
        return new(new TensorSpec(name, dtype, shape), bytes);
    }
}

/// <summary>
/// Writes safetensors files. Tensors are laid out in a fixed order — larger element size first (so every tensor stays
/// aligned to its element size after the 8-aligned header), then by name — and the header is padded with spaces to a
/// multiple of 8. The streaming overload asks the caller for each tensor's bytes in layout order, so no model ever
/// needs to be in memory whole. Files are written atomically.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Where each tensor goes in the byte buffer, in layout order.</summary>
    public static IReadOnlyList<TensorInfo> Layout(IReadOnlyList<TensorSpec> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TensorSpec spec in tensors)
        {
            if (string.IsNullOrEmpty(spec.Name) || spec.Name == SafeTensorsHeader.MetadataKey)
                throw new ArgumentException($"'{spec.Name}' cannot name a tensor", nameof(tensors));
            if (!names.Add(spec.Name))
                throw new ArgumentException($"tensor '{spec.Name}' is given twice", nameof(tensors));
        }
        var layout = new List<TensorInfo>(tensors.Count);
        long offset = 0;
        foreach (TensorSpec spec in tensors.OrderByDescending(s => s.DType.ByteSize()).ThenBy(s => s.Name, StringComparer.Ordinal))
        {
            long end = checked(offset + spec.ByteLength);
            layout.Add(new TensorInfo(spec.Name, spec.DType, spec.Shape.ToArray(), offset, end));
            offset = end;
        }
        return layout;
    }

    /// <summary>Writes tensors held in memory.</summary>
    public static void Write(string path, IReadOnlyList<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var bySpec = tensors.ToDictionary(t => t.Spec.Name, StringComparer.Ordinal);
        Write(path, tensors.Select(t => t.Spec).ToArray(), metadata, (spec, sink) => sink.WriteBytes(bySpec[spec.Name].Bytes.Span));
    }

    /// <summary>
    /// Streams a file: <paramref name="writeTensor"/> is called once per tensor, in layout order, and must write exactly
    /// that tensor's bytes to the sink (raw bytes, or floats that the sink encodes to the tensor's dtype).
    /// </summary>
    public static void Write(string path, IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata,
        Action<TensorSpec, TensorDataWriter> writeTensor, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writeTensor);
        var sink = new TensorDataWriter(progress, cancellationToken);
        Write(path, tensors, metadata, writeTensor, sink);
        sink.ReportProgress();
    }

    internal static void Write(string path, IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata,
        Action<TensorSpec, TensorDataWriter> writeTensor, TensorDataWriter sink)
    {
        IReadOnlyList<TensorInfo> layout = Layout(tensors);
        byte[] header = SafeTensorsHeader.Build(layout, metadata);
        AtomicFile.Write(path, stream =>
        {
            SafeTensorsHeader.WriteLengthPrefix(stream, header.Length);
            stream.Write(header);
            foreach (TensorInfo info in layout)
            {
                TensorSpec spec = info.Spec;
                sink.Begin(stream, spec);
                writeTensor(spec, sink);
                sink.End();
            }
        });
    }
}

/// <summary>
/// The sink a streaming write hands to the caller for one tensor at a time. It checks that exactly the tensor's byte
/// count arrives, encodes floats to the tensor's dtype, and reports cumulative bytes written.
/// </summary>
public sealed class TensorDataWriter
{
    private const int EncodeChunkElements = 1 << 16;
    private const long ProgressStepBytes = 1 << 22;

    private readonly IProgress<long>? _progress;
    private readonly CancellationToken _cancellationToken;
    private byte[]? _encodeBuffer;
    private Stream? _stream;
    private long _lastReported = -1;

    internal TensorDataWriter(IProgress<long>? progress, CancellationToken cancellationToken)
    {
        _progress = progress;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The tensor being written now.</summary>
    public TensorSpec Tensor { get; private set; } = new("", TensorDType.U8, []);

    public long BytesRemaining { get; private set; }

    /// <summary>Tensor bytes written through this sink so far, over all tensors (and all files of a checkpoint).</summary>
    public long TotalBytesWritten { get; private set; }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Stream stream = _stream ?? throw new InvalidOperationException("no tensor is being written");
        if (bytes.Length > BytesRemaining)
            throw new InvalidOperationException($"tensor '{Tensor.Name}' takes {Tensor.ByteLength} bytes; {bytes.Length} more is {bytes.Length - BytesRemaining} too many");
        _cancellationToken.ThrowIfCancellationRequested();
        stream.Write(bytes);
        BytesRemaining -= bytes.Length;
        TotalBytesWritten += bytes.Length;
        if (TotalBytesWritten - _lastReported >= ProgressStepBytes)
            ReportProgress();
    }

    /// <summary>Writes floats encoded as the tensor's dtype, which must be F32, F16 or BF16.</summary>
    public void WriteFloat32(ReadOnlySpan<float> values)
    {
        TensorDType dtype = Tensor.DType;
        if (!dtype.IsFloat32Convertible())
            throw new InvalidOperationException($"tensor '{Tensor.Name}' is {dtype.ToHeaderString()}; floats can only be written to F32, F16 or BF16");
        if (dtype == TensorDType.F32)
        {
            WriteBytes(MemoryMarshal.AsBytes(values));
            return;
        }
        _encodeBuffer ??= new byte[EncodeChunkElements * sizeof(float)];
        for (int done = 0; done < values.Length; done += EncodeChunkElements)
        {
            ReadOnlySpan<float> chunk = values.Slice(done, Math.Min(EncodeChunkElements, values.Length - done));
            Span<byte> encoded = _encodeBuffer.AsSpan(0, chunk.Length * dtype.ByteSize());
            FloatConversions.EncodeFloat32(chunk, dtype, encoded);
            WriteBytes(encoded);
        }
    }

    internal void Begin(Stream stream, TensorSpec spec)
    {
        _stream = stream;
        Tensor = spec;
        BytesRemaining = spec.ByteLength;
    }

    internal void End()
    {
        if (BytesRemaining != 0)
            throw new InvalidOperationException($"tensor '{Tensor.Name}' takes {Tensor.ByteLength} bytes but only {Tensor.ByteLength - BytesRemaining} were written");
        _stream = null;
    }

    internal void ReportProgress()
    {
        if (_lastReported == TotalBytesWritten)
            return;
        _lastReported = TotalBytesWritten;
        _progress?.Report(TotalBytesWritten);
    }
}
