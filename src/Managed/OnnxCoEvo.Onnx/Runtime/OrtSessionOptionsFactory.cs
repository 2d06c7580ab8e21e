using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>A requested execution provider that the loaded ONNX Runtime cannot provide: what is missing, how to fix it,
/// and ORT's own message (also as <see cref="Exception.InnerException"/>).</summary>
public sealed class OrtProviderUnavailableException : Exception
{
    public OrtProviderUnavailableException(OrtExecutionProvider provider, string message, OrtException inner)
        : base(message, inner)
    {
        Provider = provider;
        NativeMessage = inner.NativeMessage;
    }

    public OrtExecutionProvider Provider { get; }

    /// <summary>ONNX Runtime's message.</summary>
    public string NativeMessage { get; }
}

/// <summary>Builds OrtSessionOptions from <see cref="OrtSessionSettings"/>.</summary>
internal static unsafe class OrtSessionOptionsFactory
{
    /// <summary>The session config key that tells ORT where external data files are for a model loaded from bytes.</summary>
    public const string ExternalDataFolderKey = "session.model_external_initializers_file_folder_path";

    private const string CudaSharedProvider = "libonnxruntime_providers_shared.so";
    private const string CudaProvider = "libonnxruntime_providers_cuda.so";

    public static OrtSessionOptionsHandle Create(OrtEnvironment env, OrtSessionSettings settings, string? externalDataDirectory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.IntraOpThreads, nameof(settings.IntraOpThreads));
        ArgumentOutOfRangeException.ThrowIfNegative(settings.InterOpThreads, nameof(settings.InterOpThreads));
        if (!Enum.IsDefined(settings.Optimization))
        {
            throw new ArgumentException($"Unknown graph optimisation level {(int)settings.Optimization}.", nameof(settings));
        }

        OrtApi api = env.Api;
        IntPtr raw;
        api.ThrowIfError(api.CreateSessionOptions(&raw));
        var options = new OrtSessionOptionsHandle(raw);
        try
        {
            if (settings.IntraOpThreads > 0)
            {
                api.ThrowIfError(api.SetIntraOpNumThreads(raw, settings.IntraOpThreads));
            }

            if (settings.InterOpThreads > 0)
            {
                api.ThrowIfError(api.SetInterOpNumThreads(raw, settings.InterOpThreads));
            }

            api.ThrowIfError(api.SetSessionGraphOptimizationLevel(raw, (int)settings.Optimization));
            foreach ((string key, string value) in settings.ConfigEntries)
            {
                AddConfigEntry(api, raw, key, value);
            }

            if (externalDataDirectory != null)
            {
                AddConfigEntry(api, raw, ExternalDataFolderKey, Path.GetFullPath(externalDataDirectory));
            }

            switch (settings.Provider)
            {
                case OrtExecutionProvider.Cpu:
                    if (settings.ProviderOptions.Count > 0)
                    {
                        throw new ArgumentException("ProviderOptions are for CUDA or WebGPU; the CPU provider takes none " +
                            $"(got {string.Join(", ", settings.ProviderOptions.Keys)}).", nameof(settings));
                    }

                    break;
                case OrtExecutionProvider.Cuda:
                    AppendCuda(env, raw, settings.ProviderOptions);
                    break;
                case OrtExecutionProvider.WebGpu:
                    AppendWebGpu(env, raw, settings.ProviderOptions);
                    break;
                default:
                    throw new ArgumentException($"Unknown execution provider {(int)settings.Provider}.", nameof(settings));
            }

            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>Rewrites a provider failure at session creation (e.g. no GPU, a missing CUDA library) into the same
    /// clear error; null for other failures (a bad model), which stay ORT's own.</summary>
    public static OrtProviderUnavailableException? ExplainSessionFailure(OrtEnvironment env, OrtSessionSettings settings, OrtException error)
    {
        string keyword = settings.Provider switch
        {
            OrtExecutionProvider.Cuda => "cuda",
            OrtExecutionProvider.WebGpu => "webgpu",
            _ => "",
        };
        bool providerFault = keyword.Length > 0 && (error.Code == OrtErrorCode.EpFail ||
            error.NativeMessage.Contains(keyword, StringComparison.OrdinalIgnoreCase) ||
            error.NativeMessage.Contains("provider", StringComparison.OrdinalIgnoreCase));
        return providerFault ? Unavailable(env, settings.Provider, error) : null;
    }

    private static void AddConfigEntry(OrtApi api, IntPtr options, string key, string value)
    {
        IntPtr k = NativeUtf8.Allocate(key, nameof(OrtSessionSettings.ConfigEntries));
        IntPtr v = NativeUtf8.Allocate(value, nameof(OrtSessionSettings.ConfigEntries));
        try
        {
            api.ThrowIfError(api.AddSessionConfigEntry(options, (byte*)k, (byte*)v));
        }
        finally
        {
            NativeUtf8.Free(k);
            NativeUtf8.Free(v);
        }
    }

    private static void AppendCuda(OrtEnvironment env, IntPtr options, IReadOnlyDictionary<string, string> providerOptions)
    {
        OrtApi api = env.Api;
        try
        {
            IntPtr raw;
            api.ThrowIfError(api.CreateCUDAProviderOptions(&raw));
            using var cuda = new OrtCudaProviderOptionsHandle(raw);
            using var keys = new NativeUtf8Array(providerOptions.Keys, nameof(OrtSessionSettings.ProviderOptions));
            using var values = new NativeUtf8Array(providerOptions.Values, nameof(OrtSessionSettings.ProviderOptions));
            // Update even with no options: it loads the provider libraries, so a missing one is reported here.
            api.ThrowIfError(api.UpdateCUDAProviderOptions(raw, keys.Pointers, values.Pointers, keys.Count));
            api.ThrowIfError(api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, raw));
        }
        catch (OrtException e)
        {
            throw Unavailable(env, OrtExecutionProvider.Cuda, e);
        }
    }

    private static void AppendWebGpu(OrtEnvironment env, IntPtr options, IReadOnlyDictionary<string, string> providerOptions)
    {
        OrtApi api = env.Api;
        try
        {
            using var keys = new NativeUtf8Array(providerOptions.Keys, nameof(OrtSessionSettings.ProviderOptions));
            using var values = new NativeUtf8Array(providerOptions.Values, nameof(OrtSessionSettings.ProviderOptions));
            fixed (byte* name = "WebGPU\0"u8)
            {
                api.ThrowIfError(api.SessionOptionsAppendExecutionProvider(options, name, keys.Pointers, values.Pointers, keys.Count));
            }
        }
        catch (OrtException e)
        {
            throw Unavailable(env, OrtExecutionProvider.WebGpu, e);
        }
    }

    private static OrtProviderUnavailableException Unavailable(OrtEnvironment env, OrtExecutionProvider provider, OrtException error)
    {
        OrtLibrary library = env.Library;
        string where = $"ONNX Runtime {library.VersionString} at {library.Path}";
        string message = provider switch
        {
            OrtExecutionProvider.Cuda =>
                $"The CUDA execution provider is not usable with {where}{MissingCudaFiles(library.Path)}. " +
                $"ONNX Runtime said: {error.NativeMessage.TrimEnd()}. To fix: set {OrtLibrary.PathVariable} to the {OrtLibrary.FileName} " +
                $"of a GPU build of ONNX Runtime >= 1.30 (e.g. the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux) that has " +
                $"{CudaSharedProvider} and {CudaProvider} beside it, with the CUDA 12 and cuDNN 9 libraries on the loader path; " +
                "or use the CPU provider.",
            OrtExecutionProvider.WebGpu =>
                $"The WebGPU execution provider is not usable with {where}. ONNX Runtime said: {error.NativeMessage.TrimEnd()}. " +
                "WebGPU needs a GPU that its backend (Dawn: Vulkan on Linux) can open, with a working driver, and an " +
                $"ONNX Runtime built with WebGPU ({OrtLibrary.PathVariable} may name another build); or use the CPU provider.",
            _ => $"The {provider} execution provider is not usable with {where}. ONNX Runtime said: {error.NativeMessage.TrimEnd()}.",
        };
        return new OrtProviderUnavailableException(provider, message, error);
    }

    private static string MissingCudaFiles(string libraryPath)
    {
        string? dir = Path.GetDirectoryName(libraryPath);
        if (string.IsNullOrEmpty(dir))
        {
            return "";
        }

        string[] missing = [.. new[] { CudaSharedProvider, CudaProvider }.Where(f => !File.Exists(Path.Combine(dir, f)))];
        return missing.Length == 0 ? "" : $": {string.Join(" and ", missing)} {(missing.Length == 1 ? "is" : "are")} missing from {dir}";
    }
}
