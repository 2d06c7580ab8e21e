using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>The process-wide OrtEnv (created once; logging level warning).</summary>
public sealed unsafe class OrtEnvironment
{
    private static readonly Lazy<OrtEnvironment> s_shared = new(() => new OrtEnvironment(OrtLibrary.Default));

    private OrtEnvironment(OrtLibrary library)
    {
        Library = library;
        Api = library.Api;
        IntPtr env;
        fixed (byte* logId = "coevo\0"u8)
        {
            // Error level: our decoders list LoRA initializers as graph inputs on purpose (overridable defaults), and ORT
            // warns once per such input at Warning level (420 lines for smollm2-135m). Failures still arrive as OrtStatus.
            Api.ThrowIfError(Api.CreateEnv(OrtLoggingLevel.Error, logId, &env));
        }

        Handle = new OrtEnvHandle(env);

        IntPtr allocator;
        Api.ThrowIfError(Api.GetAllocatorWithDefaultOptions(&allocator));
        DefaultAllocator = allocator;

        // Device allocator + default memory: the kind CreateTensorWithDataAsOrtValue and BindOutputToDevice take for
        // plain CPU buffers.
        IntPtr cpu;
        Api.ThrowIfError(Api.CreateCpuMemoryInfo(OrtAllocatorType.Device, OrtMemType.Default, &cpu));
        CpuMemoryInfo = new OrtMemoryInfoHandle(cpu);
    }

    /// <summary>The environment over <see cref="OrtLibrary.Default"/>.</summary>
    /// <exception cref="OrtLoadException">ONNX Runtime cannot be loaded.</exception>
    public static OrtEnvironment Shared => s_shared.Value;

    /// <summary>The loaded library (path, version, C API table).</summary>
    public OrtLibrary Library { get; }

    /// <summary>ORT's version string, e.g. "1.30.0".</summary>
    public string Version => Library.VersionString;

    /// <summary>GetBuildInfoString, e.g. "ORT Build Info: git-branch=..., git-commit-id=..., build type=Release".</summary>
    public string BuildInfo => NativeUtf8.Read(Api.GetBuildInfoString());

    /// <summary>GetAvailableProviders, e.g. ["CUDAExecutionProvider", "CPUExecutionProvider"]. Compiled-in providers:
    /// one listed here may still be unusable (CUDA needs its provider libraries beside ORT).</summary>
    public IReadOnlyList<string> AvailableProviders
    {
        get
        {
            byte** names;
            int count;
            Api.ThrowIfError(Api.GetAvailableProviders(&names, &count));
            try
            {
                var result = new string[count];
                for (int i = 0; i < count; i++)
                {
                    result[i] = NativeUtf8.Read(names[i]);
                }

                return result;
            }
            finally
            {
                Api.ThrowIfError(Api.ReleaseAvailableProviders(names, count));
            }
        }
    }

    internal OrtApi Api { get; }

    internal OrtEnvHandle Handle { get; }

    /// <summary>ORT's default CPU allocator (owned by ORT, never released).</summary>
    internal IntPtr DefaultAllocator { get; }

    internal OrtMemoryInfoHandle CpuMemoryInfo { get; }
}
