using System.Text;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

/// <summary>
/// Tiny ONNX models for the binding tests, serialised by writing protobuf wire format directly (field numbers from
/// onnx.proto: ModelProto 1 ir_version, 7 graph, 8 opset_import; GraphProto 1 node, 2 name, 5 initializer, 11 input,
/// 12 output; NodeProto 1 input, 2 output, 4 op_type; TensorProto 1 dims, 2 data_type, 8 name, 9 raw_data,
/// 13 external_data, 14 data_location; ValueInfoProto 1 name, 2 type; TypeProto 1 tensor_type {1 elem_type, 2 shape
/// {1 dim {1 dim_value | 2 dim_param}}}). Kept independent of the product's graph builder on purpose.
/// </summary>
internal static class TinyOnnx
{
    public const int Float = 1;

    public sealed record Node(string OpType, string[] Inputs, string[] Outputs);

    /// <summary>An initializer with inline float data, or external when <see cref="ExternalFile"/> is set.</summary>
    public sealed record Initializer(string Name, long[] Dims, float[] Data, string? ExternalFile = null, long ExternalOffset = 0);

    /// <summary>A graph input/output; dims are long (fixed) or string (symbolic).</summary>
    public sealed record Value(string Name, params object[] Dims);

    public static byte[] Model(Node[] nodes, Initializer[] initializers, Value[] inputs, Value[] outputs)
    {
        var model = new Proto();
        model.Int(1, 10); // ir_version 10
        model.Message(8, o => o.String(1, "").Int(2, 21)); // opset ai.onnx 21
        model.String(2, "coevo-tests");
        model.Message(7, g =>
        {
            foreach (Node n in nodes)
            {
                g.Message(1, m =>
                {
                    foreach (string i in n.Inputs)
                    {
                        m.String(1, i);
                    }

                    foreach (string o in n.Outputs)
                    {
                        m.String(2, o);
                    }

                    m.String(4, n.OpType);
                });
            }

            g.String(2, "tiny");
            foreach (Initializer init in initializers)
            {
                g.Message(5, t => WriteTensor(t, init));
            }

            foreach (Value v in inputs)
            {
                g.Message(11, m => WriteValueInfo(m, v));
            }

            foreach (Value v in outputs)
            {
                g.Message(12, m => WriteValueInfo(m, v));
            }
        });
        return model.ToArray();
    }

    public static byte[] FloatBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    /// <summary>Y = X·W + B with X [batch, k] (batch symbolic), W [k, n], B [n]; W external when <paramref name="externalFile"/> is set.</summary>
    public static byte[] MatMulAdd(float[] w, float[] b, int k, int n, string? externalFile = null) => Model(
        [new Node("MatMul", ["X", "W"], ["XW"]), new Node("Add", ["XW", "B"], ["Y"])],
        [new Initializer("W", [k, n], w, externalFile), new Initializer("B", [n], b)],
        [new Value("X", "batch", (long)k)],
        [new Value("Y", "batch", (long)n)]);

    /// <summary>Y = X·W + (X·lora_A)·lora_B + B; lora_A [k, rank] and lora_B [rank, n] are graph inputs with rank-0
    /// initializer defaults, so without an adapter the LoRA path adds nothing.</summary>
    public static byte[] LoraMatMulAdd(float[] w, float[] b, int k, int n) => Model(
        [
            new Node("MatMul", ["X", "W"], ["XW"]),
            new Node("MatMul", ["X", "lora_A"], ["XA"]),
            new Node("MatMul", ["XA", "lora_B"], ["XAB"]),
            new Node("Add", ["XW", "XAB"], ["S"]),
            new Node("Add", ["S", "B"], ["Y"]),
        ],
        [
            new Initializer("W", [k, n], w), new Initializer("B", [n], b),
            new Initializer("lora_A", [k, 0], []), new Initializer("lora_B", [0, n], []),
        ],
        [new Value("X", "batch", (long)k), new Value("lora_A", (long)k, "rank"), new Value("lora_B", "rank", (long)n)],
        [new Value("Y", "batch", (long)n)]);

    /// <summary>next = state + delta, all [rows, cols]: bound with state and next on one buffer it accumulates in place.</summary>
    public static byte[] Accumulate(int rows, int cols) => Model(
        [new Node("Add", ["state", "delta"], ["next"])],
        [],
        [new Value("state", (long)rows, (long)cols), new Value("delta", (long)rows, (long)cols)],
        [new Value("next", (long)rows, (long)cols)]);

    private static void WriteTensor(Proto t, Initializer init)
    {
        foreach (long d in init.Dims)
        {
            t.Int(1, d);
        }

        t.Int(2, Float);
        t.String(8, init.Name);
        if (init.ExternalFile == null)
        {
            t.Bytes(9, FloatBytes(init.Data));
            return;
        }

        t.Message(13, e => e.String(1, "location").String(2, init.ExternalFile));
        t.Message(13, e => e.String(1, "offset").String(2, init.ExternalOffset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Message(13, e => e.String(1, "length").String(2, (init.Data.Length * 4).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        t.Int(14, 1); // data_location EXTERNAL
    }

    private static void WriteValueInfo(Proto m, Value v)
    {
        m.String(1, v.Name);
        m.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, Float);
            tensor.Message(2, shape =>
            {
                foreach (object d in v.Dims)
                {
                    shape.Message(1, dim =>
                    {
                        if (d is string symbol)
                        {
                            dim.String(2, symbol);
                        }
                        else
                        {
                            dim.Int(1, (long)d);
                        }
                    });
                }
            });
        }));
    }

    /// <summary>Protobuf wire writer: varint (wire type 0) and length-delimited (wire type 2) fields.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _out = new();

        public Proto Int(int field, long value)
        {
            Varint((ulong)(field << 3));
            Varint((ulong)value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Bytes(int field, byte[] value)
        {
            Varint((ulong)((field << 3) | 2));
            Varint((ulong)value.Length);
            _out.Write(value);
            return this;
        }

        public Proto Message(int field, Action<Proto> write)
        {
            var inner = new Proto();
            write(inner);
            return Bytes(field, inner.ToArray());
        }

        public byte[] ToArray() => _out.ToArray();

        private void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _out.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _out.WriteByte((byte)value);
        }
    }
}
