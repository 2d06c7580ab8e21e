using System.Buffers.Binary;
using System.Text;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Adapters;

/// <summary>One tensor of an adapter: its graph input name, element type, dims and little-endian row-major bytes.</summary>
public sealed record OnnxAdapterParameter(string Name, TensorElementType Type, long[] Dims, ReadOnlyMemory<byte> Data);

/// <summary>
/// ONNX Runtime's LoRA adapter file (.onnx_adapter), written and read by hand: a FlatBuffers buffer with identifier
/// "TORT" and schema onnxruntime.adapters (table Adapter {format_version, adapter_version, model_version,
/// parameters:[Parameter]}; table Parameter {name, dims:[int64], data_type:int32, raw_data:[uint8] (8-aligned)}).
/// ORT maps the file and points tensors straight into raw_data, hence the 8-byte alignment of every payload.
/// </summary>
public static class OnnxAdapterFile
{
    /// <summary>The only format_version ORT 1.30 accepts.</summary>
    public const int FormatVersion = 1;

    public const string Identifier = "TORT";

    public const string Extension = ".onnx_adapter";

    private const string MemorySource = "<memory>";

    // Both tables have four fields at offsets 4, 8, 12, 16 after their soffset: vtable = {size 12, table size 20, 4, 8, 12, 16}.
    private const int VTableBytes = 12;
    private const int TableBytes = 20;

    /// <summary>The file's bytes; parameters are checked (unique non-empty names, known fixed-size types, data length =
    /// element count x element size).</summary>
    public static byte[] Write(IReadOnlyList<OnnxAdapterParameter> parameters, int adapterVersion = 1, int modelVersion = 1)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Validate(parameters);

        var w = new FlatBufferWriter(EstimateSize(parameters));
        int rootSlot = w.ReserveU32();
        w.Bytes(Encoding.ASCII.GetBytes(Identifier));

        int adapterTable = w.Table();
        w.I32(FormatVersion);
        w.I32(adapterVersion);
        w.I32(modelVersion);
        int parametersSlot = w.ReserveU32();
        w.PatchOffset(rootSlot, adapterTable);

        w.Align(4, 0);
        w.PatchOffset(parametersSlot, w.Position);
        w.U32((uint)parameters.Count);
        int firstParameterSlot = w.Position;
        for (int i = 0; i < parameters.Count; i++)
        {
            w.ReserveU32();
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            OnnxAdapterParameter p = parameters[i];
            w.Align(4, 0);
            int table = w.Table();
            w.PatchOffset(firstParameterSlot + 4 * i, table);
            int nameSlot = w.ReserveU32();
            int dimsSlot = w.ReserveU32();
            w.I32((int)p.Type);
            int rawSlot = w.ReserveU32();

            w.Align(4, 0);
            w.PatchOffset(nameSlot, w.Position);
            byte[] name = Encoding.UTF8.GetBytes(p.Name);
            w.U32((uint)name.Length);
            w.Bytes(name);
            w.Bytes([0]);

            // Vector payloads start 8-aligned, so their u32 count sits at 4 mod 8.
            w.Align(8, 4);
            w.PatchOffset(dimsSlot, w.Position);
            w.U32((uint)p.Dims.Length);
            foreach (long d in p.Dims)
            {
                w.I64(d);
            }

            w.Align(8, 4);
            w.PatchOffset(rawSlot, w.Position);
            w.U32((uint)p.Data.Length);
            w.Bytes(p.Data.Span);
        }

        w.Align(4, 0);
        return w.ToArray();
    }

    /// <summary>Writes the file atomically (readers see the old or the complete new file).</summary>
    public static void Save(string path, IReadOnlyList<OnnxAdapterParameter> parameters, int adapterVersion = 1, int modelVersion = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Write(parameters, adapterVersion, modelVersion);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Reads an adapter file; parameters' data are slices of the file's bytes.</summary>
    /// <exception cref="DataFormatException">Names the file, the byte or parameter field, and what is wrong.</exception>
    public static IReadOnlyList<OnnxAdapterParameter> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads adapter bytes; <paramref name="source"/> names them in errors.</summary>
    public static IReadOnlyList<OnnxAdapterParameter> Read(ReadOnlyMemory<byte> bytes, string source = MemorySource) =>
        ReadWithVersions(bytes, source).Parameters;

    /// <summary>Reads adapter bytes with the header's adapter and model versions.</summary>
    public static (int AdapterVersion, int ModelVersion, IReadOnlyList<OnnxAdapterParameter> Parameters) ReadWithVersions(
        ReadOnlyMemory<byte> bytes, string source = MemorySource)
    {
        var r = new FlatBufferReader(bytes, source);
        if (bytes.Length < 8)
        {
            throw r.Error(0, $"the file is {bytes.Length} bytes; an adapter has at least an 8-byte header");
        }

        string identifier = Encoding.ASCII.GetString(bytes.Span[4..8]);
        if (identifier != Identifier)
        {
            throw r.Error(4, $"file identifier is '{Printable(identifier)}', expected '{Identifier}': not an ONNX Runtime LoRA adapter");
        }

        FlatTable adapter = r.Table(r.Reference(0, "root table offset"), "Adapter table");
        int format = adapter.I32(0, "format_version");
        if (format != FormatVersion)
        {
            throw r.Error(adapter.Position, $"format_version is {format}; ONNX Runtime supports only {FormatVersion}");
        }

        int adapterVersion = adapter.I32(1, "adapter_version");
        int modelVersion = adapter.I32(2, "model_version");
        int vector = adapter.Reference(3, "parameters");
        int count = vector < 0 ? 0 : r.VectorLength(vector, 4, "parameters");
        var parameters = new OnnxAdapterParameter[count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            int slot = vector + 4 + 4 * i;
            FlatTable table = r.Table(r.Reference(slot, $"parameters[{i}] offset"), $"parameters[{i}] table");
            parameters[i] = ReadParameter(r, table, i);
            if (!seen.Add(parameters[i].Name))
            {
                throw r.Error($"parameters[{i}] ('{parameters[i].Name}') field name", "the name occurs twice");
            }
        }

        return (adapterVersion, modelVersion, parameters);
    }

    private static OnnxAdapterParameter ReadParameter(FlatBufferReader r, FlatTable table, int index)
    {
        string where = $"parameters[{index}]";
        int nameAt = table.Reference(0, $"{where} name");
        if (nameAt < 0)
        {
            throw r.Error($"{where} field name", "the parameter has no name");
        }

        string name = r.String(nameAt, $"{where} name");
        where = $"parameters[{index}] ('{name}')";

        int dimsAt = table.Reference(1, $"{where} dims");
        int rank = dimsAt < 0 ? 0 : r.VectorLength(dimsAt, 8, $"{where} dims");
        long[] dims = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt64LittleEndian(r.Span.Slice(dimsAt + 4 + 8 * d, 8));
            if (dims[d] < 0)
            {
                throw r.Error($"{where} field dims", $"dimension {d} is {dims[d]}");
            }
        }

        int code = table.I32(2, $"{where} data_type");
        var type = (TensorElementType)code;
        if (!Enum.IsDefined(type) || type.SizeInBytes() == 0)
        {
            throw r.Error($"{where} field data_type", $"element type code {code} is not a supported fixed-size tensor type");
        }

        int rawAt = table.Reference(3, $"{where} raw_data");
        int rawLength = rawAt < 0 ? 0 : r.VectorLength(rawAt, 1, $"{where} raw_data");
        long expected = ExpectedBytes(dims, type);
        if (rawLength != expected)
        {
            throw r.Error($"{where} field raw_data",
                $"{rawLength} bytes, but dims [{string.Join(",", dims)}] of {type} need {expected}");
        }

        ReadOnlyMemory<byte> data = rawAt < 0 ? ReadOnlyMemory<byte>.Empty : r.Memory.Slice(rawAt + 4, rawLength);
        return new OnnxAdapterParameter(name, type, dims, data);
    }

    private static void Validate(IReadOnlyList<OnnxAdapterParameter> parameters)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++)
        {
            OnnxAdapterParameter p = parameters[i] ?? throw new ArgumentException($"parameters[{i}] is null.", nameof(parameters));
            if (string.IsNullOrEmpty(p.Name))
            {
                throw new ArgumentException($"parameters[{i}] has no name.", nameof(parameters));
            }

            if (!seen.Add(p.Name))
            {
                throw new ArgumentException($"Parameter name '{p.Name}' occurs twice.", nameof(parameters));
            }

            if (!Enum.IsDefined(p.Type) || p.Type.SizeInBytes() == 0)
            {
                throw new ArgumentException($"Parameter '{p.Name}' has type {p.Type}, not a fixed-size tensor type.", nameof(parameters));
            }

            ArgumentNullException.ThrowIfNull(p.Dims, $"parameters[{i}].Dims");
            if (p.Dims.Any(d => d < 0))
            {
                throw new ArgumentException($"Parameter '{p.Name}' has a negative dimension in [{string.Join(",", p.Dims)}].", nameof(parameters));
            }

            long expected = ExpectedBytes(p.Dims, p.Type);
            if (p.Data.Length != expected)
            {
                throw new ArgumentException($"Parameter '{p.Name}' has {p.Data.Length} data bytes, but dims " +
                    $"[{string.Join(",", p.Dims)}] of {p.Type} need {expected}.", nameof(parameters));
            }
        }
    }

    private static long ExpectedBytes(long[] dims, TensorElementType type)
    {
        long count = 1;
        foreach (long d in dims)
        {
            count = checked(count * d);
        }

        return checked(count * type.SizeInBytes());
    }

    private static int EstimateSize(IReadOnlyList<OnnxAdapterParameter> parameters) =>
        64 + parameters.Sum(p => 64 + Encoding.UTF8.GetByteCount(p.Name) + 8 * p.Dims.Length + p.Data.Length + 16);

    private static string Printable(string s) => new([.. s.Select(c => c is >= ' ' and < (char)127 ? c : '?')]);

    /// <summary>Appends little-endian FlatBuffers pieces front to back; references always point forward.</summary>
    private sealed class FlatBufferWriter(int capacity)
    {
        private byte[] _buffer = new byte[Math.Max(capacity, 64)];

        public int Position { get; private set; }

        /// <summary>Writes the shared vtable then a table header (soffset back to it); returns the table's position.</summary>
        public int Table()
        {
            Align(4, 0);
            int vtable = Position;
            U16(VTableBytes);
            U16(TableBytes);
            for (int field = 0; field < 4; field++)
            {
                U16((ushort)(4 + 4 * field));
            }

            int table = Position;
            I32(table - vtable);
            return table;
        }

        public int ReserveU32()
        {
            int at = Position;
            U32(0);
            return at;
        }

        /// <summary>Sets the u32 at <paramref name="slot"/> to the forward distance to <paramref name="target"/>.</summary>
        public void PatchOffset(int slot, int target) =>
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(slot, 4), checked((uint)(target - slot)));

        /// <summary>Zero-pads until Position mod <paramref name="alignment"/> equals <paramref name="remainder"/>.</summary>
        public void Align(int alignment, int remainder)
        {
            while (Position % alignment != remainder)
            {
                Bytes([0]);
            }
        }

        public void U16(ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Grow(2), value);

        public void U32(uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Grow(4), value);

        public void I32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Grow(4), value);

        public void I64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Grow(8), value);

        public void Bytes(ReadOnlySpan<byte> value) => value.CopyTo(Grow(value.Length));

        public byte[] ToArray() => _buffer.AsSpan(0, Position).ToArray();

        private Span<byte> Grow(int count)
        {
            int end = checked(Position + count);
            if (end > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(end, checked(_buffer.Length * 2)));
            }

            Span<byte> span = _buffer.AsSpan(Position, count);
            Position = end;
            return span;
        }
    }

    /// <summary>A verified table: its position and vtable, with field reads bounded by both.</summary>
    private readonly record struct FlatTable(FlatBufferReader Reader, int Position, int VTable, int VTableSize, int TableSize)
    {
        /// <summary>Offset of field <paramref name="id"/> from the table start; 0 when absent.</summary>
        private int FieldOffset(int id, int size, string what)
        {
            int entry = 4 + 2 * id;
            if (entry + 2 > VTableSize)
            {
                return 0;
            }

            int offset = BinaryPrimitives.ReadUInt16LittleEndian(Reader.Span.Slice(VTable + entry, 2));
            if (offset != 0 && offset + size > TableSize)
            {
                throw Reader.Error(VTable + entry, $"{what} field offset {offset} lies outside its {TableSize}-byte table");
            }

            return offset;
        }

        public int I32(int id, string what)
        {
            int offset = FieldOffset(id, 4, what);
            return offset == 0 ? 0 : BinaryPrimitives.ReadInt32LittleEndian(Reader.Span.Slice(Position + offset, 4));
        }

        /// <summary>The absolute position a reference field points at; -1 when absent.</summary>
        public int Reference(int id, string what)
        {
            int offset = FieldOffset(id, 4, what);
            return offset == 0 ? -1 : Reader.Reference(Position + offset, what);
        }
    }

    /// <summary>Bounds-checked reads over untrusted bytes; every failure names the source and byte.</summary>
    private sealed class FlatBufferReader(ReadOnlyMemory<byte> memory, string source)
    {
        public ReadOnlyMemory<byte> Memory { get; } = memory;

        public ReadOnlySpan<byte> Span => Memory.Span;

        public DataFormatException Error(int position, string problem) => new(source, $"byte {position}", problem);

        public DataFormatException Error(string position, string problem) => new(source, position, problem);

        /// <summary>Follows the u32 forward offset stored at <paramref name="at"/>.</summary>
        public int Reference(int at, string what)
        {
            Require(at, 4, what);
            long target = at + (long)BinaryPrimitives.ReadUInt32LittleEndian(Span.Slice(at, 4));
            if (target + 4 > Memory.Length)
            {
                throw Error(at, $"{what} points to byte {target}, past the end of the {Memory.Length}-byte file (truncated?)");
            }

            return (int)target;
        }

        public FlatTable Table(int position, string what)
        {
            Require(position, 4, what);
            long vtable = position - (long)BinaryPrimitives.ReadInt32LittleEndian(Span.Slice(position, 4));
            if (vtable < 0 || vtable + 4 > Memory.Length)
            {
                throw Error(position, $"{what} has its vtable at byte {vtable}, outside the {Memory.Length}-byte file");
            }

            int vtableSize = BinaryPrimitives.ReadUInt16LittleEndian(Span.Slice((int)vtable, 2));
            int tableSize = BinaryPrimitives.ReadUInt16LittleEndian(Span.Slice((int)vtable + 2, 2));
            if (vtableSize < 4 || vtableSize % 2 != 0 || vtable + vtableSize > Memory.Length)
            {
                throw Error((int)vtable, $"{what} vtable size {vtableSize} is invalid");
            }

            if (tableSize < 4 || position + (long)tableSize > Memory.Length)
            {
                throw Error((int)vtable, $"{what} size {tableSize} runs past the end of the {Memory.Length}-byte file");
            }

            return new FlatTable(this, position, (int)vtable, vtableSize, tableSize);
        }

        /// <summary>Element count of the vector at <paramref name="at"/>, checked to fit in the file.</summary>
        public int VectorLength(int at, int elementSize, string what)
        {
            Require(at, 4, what);
            long count = BinaryPrimitives.ReadUInt32LittleEndian(Span.Slice(at, 4));
            if (at + 4 + count * elementSize > Memory.Length)
            {
                throw Error(at, $"{what} holds {count} elements of {elementSize} bytes, past the end of the {Memory.Length}-byte file (truncated?)");
            }

            return (int)count;
        }

        public string String(int at, string what)
        {
            int length = VectorLength(at, 1, what);
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Span.Slice(at + 4, length));
            }
            catch (DecoderFallbackException e)
            {
                throw new DataFormatException(source, $"byte {at}", $"{what} is not valid UTF-8", e);
            }
        }

        private void Require(int at, int size, string what)
        {
            if (at < 0 || at + (long)size > Memory.Length)
            {
                throw Error(Math.Max(at, 0), $"{what} lies past the end of the {Memory.Length}-byte file (truncated?)");
            }
        }
    }
}
