namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>ONNXTensorElementDataType, equal to ONNX's TensorProto.DataType codes (onnx-interop.md §1.3).</summary>
public enum TensorElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}

/// <summary>Where a session runs. CPU always exists; CUDA and WebGPU only when the loaded library has them.</summary>
public enum OrtExecutionProvider
{
    Cpu,
    Cuda,
    WebGpu,
}

/// <summary>GraphOptimizationLevel.</summary>
public enum OrtGraphOptimization
{
    None = 0,
    Basic = 1,
    Extended = 2,
    Layout = 3,
    All = 99,
}

/// <summary>How to build a session. Defaults: CPU, all graph optimisations, ORT's default thread counts.</summary>
public sealed record OrtSessionSettings
{
    public OrtExecutionProvider Provider { get; init; } = OrtExecutionProvider.Cpu;

    /// <summary>0: ORT's default (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; }

    public OrtGraphOptimization Optimization { get; init; } = OrtGraphOptimization.All;

    /// <summary>Session config entries (AddSessionConfigEntry), e.g. session.model_external_initializers_file_folder_path.</summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>Provider options for CUDA/WebGPU (key/value strings as ORT takes them).</summary>
    public IReadOnlyDictionary<string, string> ProviderOptions { get; init; } = new Dictionary<string, string>();
}

/// <summary>A session input or output: name, element type, dims (-1 where symbolic) and the symbolic names (null where fixed).</summary>
public sealed record OrtTensorInfo(string Name, TensorElementType ElementType, IReadOnlyList<long> Dims, IReadOnlyList<string?> SymbolicDims);
