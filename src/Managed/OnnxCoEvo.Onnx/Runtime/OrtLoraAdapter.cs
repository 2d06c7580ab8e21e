using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>An ORT LoRA adapter (.onnx_adapter) loaded on the CPU (no device allocator: its tensors stay where ORT read
/// them). Write such files with <see cref="Adapters.OnnxAdapterFile"/>.</summary>
public sealed unsafe class OrtLoraAdapter : IDisposable
{
    private readonly OrtLoraAdapterHandle _handle;

    private OrtLoraAdapter(OrtLoraAdapterHandle handle) => _handle = handle;

    internal OrtLoraAdapterHandle Handle => _handle;

    /// <summary>CreateLoraAdapter: memory-maps the file.</summary>
    /// <exception cref="OrtException">ORT rejects the file (not an adapter, wrong format version, ...).</exception>
    public static OrtLoraAdapter Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"LoRA adapter {path} does not exist.", path);
        }

        string fullPath = Path.GetFullPath(path);
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr adapter;
        IntPtr status;
        if (OperatingSystem.IsWindows())
        {
            fixed (char* p = fullPath)
            {
                status = api.CreateLoraAdapter(p, IntPtr.Zero, &adapter);
            }
        }
        else
        {
            IntPtr p = NativeUtf8.Allocate(fullPath, nameof(path));
            try
            {
                status = api.CreateLoraAdapter((void*)p, IntPtr.Zero, &adapter);
            }
            finally
            {
                NativeUtf8.Free(p);
            }
        }

        try
        {
            api.ThrowIfError(status);
        }
        catch (OrtException e)
        {
            throw new OrtException(e.Code, e.NativeMessage, $"LoRA adapter {fullPath}");
        }

        return new OrtLoraAdapter(new OrtLoraAdapterHandle(adapter));
    }

    /// <summary>CreateLoraAdapterFromArray: copies the bytes.</summary>
    public static OrtLoraAdapter FromBytes(ReadOnlySpan<byte> bytes)
    {
        OrtApi api = OrtEnvironment.Shared.Api;
        IntPtr adapter;
        fixed (byte* data = bytes)
        {
            api.ThrowIfError(api.CreateLoraAdapterFromArray(data, (nuint)bytes.Length, IntPtr.Zero, &adapter));
        }

        return new OrtLoraAdapter(new OrtLoraAdapterHandle(adapter));
    }

    public void Dispose() => _handle.Dispose();
}
