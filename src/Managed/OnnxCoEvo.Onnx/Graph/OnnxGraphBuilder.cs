using System.Globalization;
using Google.Protobuf;
using OnnxCoEvo.Onnx.Proto;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Graph;

/// <summary>A tensor dimension in a graph input/output: a fixed size, or a symbolic name shared by inputs (e.g. "batch_size").</summary>
public readonly record struct OnnxDim(long Value, string? Param)
{
    public static implicit operator OnnxDim(long value) => new(value, null);

    public static OnnxDim Symbolic(string name) => new(-1, name);
}

/// <summary>Node attributes (AttributeProto with its type discriminator always set, as ORT expects).</summary>
public static class OnnxAttribute
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Floats(string name, params float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.AddRange(values);
        return a;
    }

    /// <summary>A tensor-valued attribute (Constant's "value"); stored inline.</summary>
    public static AttributeProto Tensor(string name, OnnxTensor value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = OnnxModel.InlineTensor(value) };
}

/// <summary>
/// Builds an ONNX graph node by node. Names are checked as they are added (an input, initializer or node output can
/// be produced once), so a mistake fails at the line that makes it rather than in ONNX Runtime's loader.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly List<OnnxTensor> _initializers = [];
    private readonly HashSet<string> _produced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _nameCounters = new(StringComparer.Ordinal);
    private int _nodeCounter;

    public OnnxGraphBuilder(string name = "main") => _graph = new GraphProto { Name = name };

    public int NodeCount => _graph.Node.Count;

    /// <summary>Adds a graph input and returns its name.</summary>
    public string Input(string name, TensorElementType type, params OnnxDim[] shape)
    {
        Produce(name);
        _graph.Input.Add(ValueInfo(name, type, shape));
        return name;
    }

    /// <summary>Declares a graph output (an existing value).</summary>
    public void Output(string name, TensorElementType type, params OnnxDim[] shape)
    {
        if (!_produced.Contains(name))
            throw new ArgumentException($"graph output '{name}' is not produced by any input, initializer or node");
        _graph.Output.Add(ValueInfo(name, type, shape));
    }

    /// <summary>Adds an initializer and returns its name.</summary>
    public string Initializer(OnnxTensor tensor)
    {
        Produce(tensor.Name);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>
    /// An input with an initializer of the same name as its default: callers (a LoRA adapter, a feed) may override it,
    /// and the model runs without it.
    /// </summary>
    public string InputWithDefault(OnnxTensor defaultValue, params OnnxDim[] shape)
    {
        Produce(defaultValue.Name);
        _graph.Input.Add(ValueInfo(defaultValue.Name, defaultValue.Type, shape));
        _initializers.Add(defaultValue);
        return defaultValue.Name;
    }

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string NewName(string hint)
    {
        int n = _nameCounters.TryGetValue(hint, out int seen) ? seen : 0;
        string name;
        do
        {
            name = n == 0 ? hint : string.Create(CultureInfo.InvariantCulture, $"{hint}_{n}");
            n++;
        }
        while (_produced.Contains(name));
        _nameCounters[hint] = n;
        return name;
    }

    /// <summary>Adds a node with one output named <paramref name="output"/> (or a fresh name from the op type when null).</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, string? output = null, string domain = "", string? name = null, params AttributeProto[] attributes) =>
        Node(opType, inputs, [output ?? NewName(opType.ToLowerInvariant())], domain, name, attributes)[0];

    /// <summary>Adds a node; empty strings in <paramref name="outputs"/> skip optional outputs, in <paramref name="inputs"/> optional inputs.</summary>
    public IReadOnlyList<string> Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string domain = "", string? name = null, params AttributeProto[] attributes)
    {
        foreach (string input in inputs)
            if (input.Length > 0 && !_produced.Contains(input))
                throw new ArgumentException($"node {opType} ({name ?? "unnamed"}): input '{input}' is not produced yet");
        foreach (string output in outputs)
            if (output.Length > 0)
                Produce(output);
        var node = new NodeProto
        {
            OpType = opType,
            Name = name ?? string.Create(CultureInfo.InvariantCulture, $"{opType}_{_nodeCounter}"),
        };
        _nodeCounter++;
        if (domain.Length > 0)
            node.Domain = domain;
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Finishes the model: IR 10, opsets {"": 21, "com.microsoft": 1} unless given.</summary>
    public OnnxModel Build(string producer = "onnxcoevo", IReadOnlyDictionary<string, long>? opsets = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = OnnxModel.IrVersion,
            ProducerName = producer,
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "0",
            Graph = _graph.Clone(),
        };
        foreach ((string domain, long version) in opsets ?? OnnxModel.DefaultOpsets)
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        if (metadata is not null)
            foreach ((string key, string value) in metadata)
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return new OnnxModel(model, [.. _initializers]);
    }

    private void Produce(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_produced.Add(name))
            throw new ArgumentException($"value '{name}' is produced twice in the graph");
    }

    private static ValueInfoProto ValueInfo(string name, TensorElementType type, OnnxDim[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (OnnxDim dim in shape)
            tensorShape.Dim.Add(dim.Param is null ? new TensorShapeProto.Types.Dimension { DimValue = dim.Value } : new TensorShapeProto.Types.Dimension { DimParam = dim.Param });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }
}
