using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>
/// OrtIoBinding of one session: inputs and outputs bound once and reused across runs (a decode loop rebinds only what
/// changed). The binding keeps its session's native object alive, and keeps bound managed values reachable so their
/// pinned memory stays valid while ORT holds it.
/// </summary>
public sealed unsafe class OrtIoBinding : IDisposable
{
    private readonly OrtIoBindingHandle _handle;
    private readonly Dictionary<string, OrtValue> _boundInputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OrtValue> _boundOutputs = new(StringComparer.Ordinal);

    internal OrtIoBinding(OrtInferenceSession session)
    {
        Session = session;
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr raw;
        api.ThrowIfError(api.CreateIoBinding(session.Handle.Pointer, &raw));
        _handle = new OrtIoBindingHandle(raw);
        _handle.DependOn(session.Handle);
    }

    internal OrtInferenceSession Session { get; }

    internal OrtIoBindingHandle Handle => _handle;

    public void BindInput(string name, OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        OrtApi api = OrtEnvironment.Shared.Api;
        api.ThrowIfError(api.BindInput(_handle.Pointer, (byte*)Session.Names.Get(name), value.Handle.Pointer));
        _boundInputs[name] = value;
    }

    /// <summary>Binds a preallocated output (may be the same value as an input: shared KV buffers).</summary>
    public void BindOutput(string name, OrtValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        OrtApi api = OrtEnvironment.Shared.Api;
        api.ThrowIfError(api.BindOutput(_handle.Pointer, (byte*)Session.Names.Get(name), value.Handle.Pointer));
        _boundOutputs[name] = value;
    }

    /// <summary>Lets ORT allocate the output on the CPU; read it with <see cref="GetOutputs"/> after the run.</summary>
    public void BindOutputToCpu(string name)
    {
        OrtEnvironment env = OrtEnvironment.Shared;
        env.Api.ThrowIfError(env.Api.BindOutputToDevice(_handle.Pointer, (byte*)Session.Names.Get(name), env.CpuMemoryInfo.Pointer));
        _boundOutputs.Remove(name);
    }

    /// <summary>The bound outputs after a run, in binding order (caller disposes them; each is a new reference to the
    /// tensor, so a preallocated output's values share its buffer).</summary>
    public OrtValue[] GetOutputs()
    {
        OrtEnvironment env = OrtEnvironment.Shared;
        OrtApi api = env.Api;
        IntPtr* values;
        nuint count;
        api.ThrowIfError(api.GetBoundOutputValues(_handle.Pointer, env.DefaultAllocator, &values, &count));
        if (values == null)
        {
            return [];
        }

        try
        {
            var result = new OrtValue[(int)count];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = OrtValue.FromOwned(values[i]);
            }

            return result;
        }
        finally
        {
            api.ThrowIfError(api.AllocatorFree(env.DefaultAllocator, values));
        }
    }

    public void ClearInputs()
    {
        OrtEnvironment.Shared.Api.ClearBoundInputs(_handle.Pointer);
        _boundInputs.Clear();
    }

    public void ClearOutputs()
    {
        OrtEnvironment.Shared.Api.ClearBoundOutputs(_handle.Pointer);
        _boundOutputs.Clear();
    }

    public void Dispose()
    {
        _handle.Dispose();
        _boundInputs.Clear();
        _boundOutputs.Clear();
    }
}
