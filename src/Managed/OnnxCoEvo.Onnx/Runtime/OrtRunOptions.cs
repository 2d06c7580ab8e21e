using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>OrtRunOptions: config entries and the LoRA adapters active for a run. Adapters added here stay alive
/// (natively) until these options are released.</summary>
public sealed unsafe class OrtRunOptions : IDisposable
{
    private readonly OrtRunOptionsHandle _handle;

    public OrtRunOptions()
    {
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr raw;
        api.ThrowIfError(api.CreateRunOptions(&raw));
        _handle = new OrtRunOptionsHandle(raw);
    }

    internal OrtRunOptionsHandle Handle => _handle;

    /// <summary>AddRunConfigEntry, e.g. "memory.enable_memory_arena_shrinkage" = "cpu:0".</summary>
    public void AddConfigEntry(string key, string value)
    {
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr k = NativeUtf8.Allocate(key, nameof(key));
        IntPtr v = NativeUtf8.Allocate(value, nameof(value));
        try
        {
            api.ThrowIfError(api.AddRunConfigEntry(_handle.Pointer, (byte*)k, (byte*)v));
        }
        finally
        {
            NativeUtf8.Free(k);
            NativeUtf8.Free(v);
        }
    }

    /// <summary>RunOptionsAddActiveLoraAdapter: its parameters are fed as inputs by name on runs with these options.</summary>
    public void AddActiveLoraAdapter(OrtLoraAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr options = _handle.Pointer;
        IntPtr active = adapter.Handle.Pointer;
        // Hold the adapter first: from the call on, ORT points at it until these options are released.
        _handle.DependOn(adapter.Handle);
        api.ThrowIfError(api.RunOptionsAddActiveLoraAdapter(options, active));
    }

    public void Dispose() => _handle.Dispose();
}
