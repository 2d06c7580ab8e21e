namespace OnnxCoEvo.Onnx.Runtime;

// The public face of the ONNX Runtime binding (SafeHandle-backed, IDisposable). Implemented over the OrtApi table in
// Native/; every failing OrtStatus becomes an OrtException carrying ORT's message.

/// <summary>The process-wide OrtEnv (created once; logging level warning).</summary>
public sealed class OrtEnvironment
{
    /// <summary>The environment over <see cref="Native.OrtLibrary.Default"/>.</summary>
    public static OrtEnvironment Shared => throw new NotImplementedException("issue 5: ORT binding");

    /// <summary>ORT's version string, e.g. "1.30.0".</summary>
    public string Version => throw new NotImplementedException();

    /// <summary>GetAvailableProviders, e.g. ["CUDAExecutionProvider", "CPUExecutionProvider"].</summary>
    public IReadOnlyList<string> AvailableProviders => throw new NotImplementedException();
}

/// <summary>An OrtSession: a loaded model ready to run.</summary>
public sealed class OrtInferenceSession : IDisposable
{
    private OrtInferenceSession() { }

    /// <summary>Loads a model file (external data resolved next to it).</summary>
    public static OrtInferenceSession Open(string modelPath, OrtSessionSettings? settings = null) => throw new NotImplementedException();

    /// <summary>Loads a model from bytes; <paramref name="externalDataDirectory"/> is where its external data files are.</summary>
    public static OrtInferenceSession FromBytes(ReadOnlySpan<byte> model, OrtSessionSettings? settings = null, string? externalDataDirectory = null) =>
        throw new NotImplementedException();

    /// <summary>Graph inputs ORT reports (inputs that also have an initializer are not listed; they can still be fed).</summary>
    public IReadOnlyList<OrtTensorInfo> Inputs => throw new NotImplementedException();

    public IReadOnlyList<OrtTensorInfo> Outputs => throw new NotImplementedException();

    /// <summary>Runs with named inputs; returns the requested outputs (caller disposes them), allocated by ORT.</summary>
    public OrtValue[] Run(IReadOnlyList<KeyValuePair<string, OrtValue>> inputs, IReadOnlyList<string> outputNames, OrtRunOptions? options = null) =>
        throw new NotImplementedException();

    /// <summary>Runs with an IoBinding (inputs and outputs bound beforehand; lets past and present KV share one buffer).</summary>
    public void Run(OrtIoBinding binding, OrtRunOptions? options = null) => throw new NotImplementedException();

    public OrtIoBinding CreateBinding() => throw new NotImplementedException();

    public void Dispose() { }
}

/// <summary>
/// An OrtValue tensor on the CPU. Values made from managed memory pin it for their lifetime (ORT does not copy);
/// values allocated by ORT own their buffer.
/// </summary>
public sealed class OrtValue : IDisposable
{
    private OrtValue() { }

    /// <summary>A tensor over <paramref name="data"/> (pinned until disposed), shape checked against its length.</summary>
    public static OrtValue FromMemory<T>(Memory<T> data, ReadOnlySpan<long> shape) where T : unmanaged => throw new NotImplementedException();

    /// <summary>A tensor ORT allocates (CPU), zero-filled is not guaranteed.</summary>
    public static OrtValue Allocate(TensorElementType type, ReadOnlySpan<long> shape) => throw new NotImplementedException();

    public TensorElementType ElementType => throw new NotImplementedException();

    public long[] Shape => throw new NotImplementedException();

    /// <summary>The tensor's CPU data; T must match <see cref="ElementType"/> (checked).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged => throw new NotImplementedException();

    public void Dispose() { }
}

/// <summary>OrtRunOptions: config entries and the LoRA adapters active for a run.</summary>
public sealed class OrtRunOptions : IDisposable
{
    public OrtRunOptions() => throw new NotImplementedException();

    public void AddConfigEntry(string key, string value) => throw new NotImplementedException();

    /// <summary>RunOptionsAddActiveLoraAdapter: its parameters are fed as inputs by name on runs with these options.</summary>
    public void AddActiveLoraAdapter(OrtLoraAdapter adapter) => throw new NotImplementedException();

    public void Dispose() { }
}

/// <summary>An ORT LoRA adapter (.onnx_adapter) loaded on the CPU.</summary>
public sealed class OrtLoraAdapter : IDisposable
{
    private OrtLoraAdapter() { }

    /// <summary>CreateLoraAdapter: memory-maps the file.</summary>
    public static OrtLoraAdapter Open(string path) => throw new NotImplementedException();

    /// <summary>CreateLoraAdapterFromArray: copies the bytes.</summary>
    public static OrtLoraAdapter FromBytes(ReadOnlySpan<byte> bytes) => throw new NotImplementedException();

    public void Dispose() { }
}

/// <summary>OrtIoBinding of one session.</summary>
public sealed class OrtIoBinding : IDisposable
{
    private OrtIoBinding() { }

    public void BindInput(string name, OrtValue value) => throw new NotImplementedException();

    /// <summary>Binds a preallocated output (may be the same value as an input: shared KV buffers).</summary>
    public void BindOutput(string name, OrtValue value) => throw new NotImplementedException();

    /// <summary>Lets ORT allocate the output on the CPU; read it with <see cref="GetOutputs"/> after the run.</summary>
    public void BindOutputToCpu(string name) => throw new NotImplementedException();

    /// <summary>The bound outputs after a run, in binding order (caller disposes them).</summary>
    public OrtValue[] GetOutputs() => throw new NotImplementedException();

    public void ClearInputs() => throw new NotImplementedException();

    public void ClearOutputs() => throw new NotImplementedException();

    public void Dispose() { }
}
