using System.Runtime.InteropServices;

namespace OnnxCoEvo.Onnx.Native;

// One SafeHandle per ORT object type: the release runs exactly once (Dispose or the critical finalizer), and a handle
// that another ORT object points into (a session under an IoBinding, an adapter active in run options) is kept alive
// with DangerousAddRef until its dependant is released, so disposal order can never free memory ORT still uses.

/// <summary>Base of the ORT object handles: NULL is invalid; <see cref="Release"/> calls the type's Release* slot.</summary>
public abstract class OrtHandle : SafeHandle
{
    // Dependencies are rare (bindings, active adapters): one shared lock keeps every handle a lock object lighter.
    private static readonly Lock s_dependencyGate = new();
    private List<SafeHandle>? _dependencies;
    private volatile bool _disposed;

    protected OrtHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Keeps <paramref name="other"/> alive until this handle is released (ORT holds a pointer to it).</summary>
    internal void DependOn(SafeHandle other)
    {
        bool added = false;
        other.DangerousAddRef(ref added);
        lock (s_dependencyGate)
        {
            (_dependencies ??= []).Add(other);
        }
    }

    /// <summary>The live native pointer; throws once disposed, even while a dependant still keeps the native object
    /// (calls on a released ORT object would corrupt memory).</summary>
    internal IntPtr Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed || IsClosed, this);
            return handle;
        }
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    protected abstract void Release(OrtApi api, IntPtr pointer);

    protected sealed override bool ReleaseHandle()
    {
        Release(OrtLibrary.Default.Api, handle);
        List<SafeHandle>? dependencies;
        lock (s_dependencyGate)
        {
            dependencies = _dependencies;
            _dependencies = null;
        }

        if (dependencies != null)
        {
            foreach (SafeHandle dependency in dependencies)
            {
                dependency.DangerousRelease();
            }
        }

        return true;
    }
}

/// <summary>OrtEnv.</summary>
public sealed class OrtEnvHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseEnv(pointer);
}

/// <summary>OrtSessionOptions.</summary>
public sealed class OrtSessionOptionsHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseSessionOptions(pointer);
}

/// <summary>OrtCUDAProviderOptionsV2.</summary>
public sealed class OrtCudaProviderOptionsHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseCUDAProviderOptions(pointer);
}

/// <summary>OrtSession.</summary>
public sealed class OrtSessionHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseSession(pointer);
}

/// <summary>OrtValue.</summary>
public sealed class OrtValueHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseValue(pointer);
}

/// <summary>OrtRunOptions (depends on the LoRA adapters made active in it).</summary>
public sealed class OrtRunOptionsHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseRunOptions(pointer);
}

/// <summary>OrtIoBinding (depends on its session).</summary>
public sealed class OrtIoBindingHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseIoBinding(pointer);
}

/// <summary>OrtLoraAdapter.</summary>
public sealed class OrtLoraAdapterHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseLoraAdapter(pointer);
}

/// <summary>OrtMemoryInfo.</summary>
public sealed class OrtMemoryInfoHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseMemoryInfo(pointer);
}

/// <summary>OrtTypeInfo.</summary>
public sealed class OrtTypeInfoHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseTypeInfo(pointer);
}

/// <summary>OrtTensorTypeAndShapeInfo (owned: from GetTensorTypeAndShape, not from CastTypeInfoToTensorInfo).</summary>
public sealed class OrtTensorTypeAndShapeInfoHandle(IntPtr handle) : OrtHandle(handle)
{
    protected override unsafe void Release(OrtApi api, IntPtr pointer) => api.ReleaseTensorTypeAndShapeInfo(pointer);
}
