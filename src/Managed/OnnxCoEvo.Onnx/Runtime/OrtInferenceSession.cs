using System.Buffers;
using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Onnx.Runtime;

/// <summary>An OrtSession: a loaded model ready to run. Run may be called from several threads at once (ORT allows it).</summary>
public sealed unsafe class OrtInferenceSession : IDisposable
{
    // Pointer arrays of up to this many entries live on the stack; larger ones are rented.
    private const int StackPointers = 128;

    private readonly OrtEnvironment _env;
    private readonly OrtSessionHandle _handle;
    private readonly NativeNameCache _names = new();

    private OrtInferenceSession(OrtEnvironment env, OrtSessionHandle handle)
    {
        _env = env;
        _handle = handle;
        try
        {
            Inputs = ReadTensorInfos(Port.Input);
            Outputs = ReadTensorInfos(Port.Output);
            OverridableInputs = ReadTensorInfos(Port.OverridableInitializer);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Loads a model file (external data resolved next to it).</summary>
    /// <exception cref="OrtException">ORT rejects the file (its message names the problem).</exception>
    /// <exception cref="OrtProviderUnavailableException">The requested provider cannot be used.</exception>
    public static OrtInferenceSession Open(string modelPath, OrtSessionSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"ONNX model {modelPath} does not exist.", modelPath);
        }

        string fullPath = Path.GetFullPath(modelPath);
        return Create(settings, externalDataDirectory: null, (api, env, options) =>
        {
            IntPtr session;
            IntPtr status;
            // ORTCHAR_T is wchar_t on Windows, char (UTF-8) elsewhere.
            if (OperatingSystem.IsWindows())
            {
                fixed (char* path = fullPath)
                {
                    status = api.CreateSession(env, path, options, &session);
                }
            }
            else
            {
                IntPtr path = NativeUtf8.Allocate(fullPath, nameof(modelPath));
                try
                {
                    status = api.CreateSession(env, (void*)path, options, &session);
                }
                finally
                {
                    NativeUtf8.Free(path);
                }
            }

            api.ThrowIfError(status);
            return session;
        });
    }

    /// <summary>Loads a model from bytes; <paramref name="externalDataDirectory"/> is where its external data files are
    /// (set as session.model_external_initializers_file_folder_path; without it ORT looks in the working directory).</summary>
    public static OrtInferenceSession FromBytes(ReadOnlySpan<byte> model, OrtSessionSettings? settings = null, string? externalDataDirectory = null)
    {
        if (model.IsEmpty)
        {
            throw new ArgumentException("The model bytes are empty.", nameof(model));
        }

        if (externalDataDirectory != null && !Directory.Exists(externalDataDirectory))
        {
            throw new DirectoryNotFoundException($"External data directory {externalDataDirectory} does not exist.");
        }

        fixed (byte* data = model)
        {
            IntPtr bytes = (IntPtr)data;
            nuint length = (nuint)model.Length;
            return Create(settings, externalDataDirectory, (api, env, options) =>
            {
                IntPtr session;
                api.ThrowIfError(api.CreateSessionFromArray(env, (void*)bytes, length, options, &session));
                return session;
            });
        }
    }

    /// <summary>Graph inputs ORT reports (inputs that also have an initializer are not listed; they can still be fed).</summary>
    public IReadOnlyList<OrtTensorInfo> Inputs { get; }

    public IReadOnlyList<OrtTensorInfo> Outputs { get; }

    /// <summary>Inputs with an initializer default, which ORT lists apart ("overridable initializers"): e.g. LoRA
    /// inputs that an adapter or a feed may replace. Dims and symbols are the graph input's declaration.</summary>
    public IReadOnlyList<OrtTensorInfo> OverridableInputs { get; }

    internal OrtSessionHandle Handle => _handle;

    internal NativeNameCache Names => _names;

    /// <summary>Runs with named inputs; returns the requested outputs (caller disposes them), allocated by ORT.</summary>
    /// <exception cref="OrtException">ORT rejects the run, e.g. "Invalid input name: x" or a shape mismatch.</exception>
    public OrtValue[] Run(IReadOnlyList<KeyValuePair<string, OrtValue>> inputs, IReadOnlyList<string> outputNames, OrtRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputNames);
        int inputCount = inputs.Count;
        int outputCount = outputNames.Count;
        if (outputCount == 0)
        {
            throw new ArgumentException("Name at least one output to compute.", nameof(outputNames));
        }

        // One pointer block: input names | input values | output names | output values.
        int total = 2 * (inputCount + outputCount);
        IntPtr[]? rented = null;
        Span<IntPtr> block = total <= StackPointers
            ? stackalloc IntPtr[StackPointers]
            : (rented = ArrayPool<IntPtr>.Shared.Rent(total));
        block = block[..total];
        block.Clear();
        try
        {
            for (int i = 0; i < inputCount; i++)
            {
                (string name, OrtValue value) = inputs[i];
                if (value is null)
                {
                    throw new ArgumentException($"inputs[{i}] ('{name}') has no value.", nameof(inputs));
                }

                block[i] = _names.Get(name);
                block[inputCount + i] = value.Handle.Pointer;
            }

            for (int i = 0; i < outputCount; i++)
            {
                block[2 * inputCount + i] = _names.Get(outputNames[i]);
            }

            OrtApi api = _env.Api;
            IntPtr session = _handle.Pointer;
            IntPtr runOptions = options?.Handle.Pointer ?? IntPtr.Zero;
            fixed (IntPtr* p = block)
            {
                api.ThrowIfError(api.Run(session, runOptions,
                    (byte**)p, p + inputCount, (nuint)inputCount,
                    (byte**)(p + 2 * inputCount), (nuint)outputCount, p + 2 * inputCount + outputCount));
            }

            // The inputs' memory must stay pinned and their handles open until ORT returns.
            GC.KeepAlive(inputs);
            GC.KeepAlive(options);

            var results = new OrtValue[outputCount];
            for (int i = 0; i < outputCount; i++)
            {
                results[i] = OrtValue.FromOwned(block[2 * inputCount + outputCount + i]);
            }

            return results;
        }
        finally
        {
            if (rented != null)
            {
                ArrayPool<IntPtr>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Runs with an IoBinding (inputs and outputs bound beforehand; lets past and present KV share one buffer).</summary>
    public void Run(OrtIoBinding binding, OrtRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (!ReferenceEquals(binding.Session, this))
        {
            throw new ArgumentException("The binding was created by another session.", nameof(binding));
        }

        OrtApi api = _env.Api;
        IntPtr runOptions = options?.Handle.Pointer ?? IntPtr.Zero;
        api.ThrowIfError(api.RunWithBinding(_handle.Pointer, runOptions, binding.Handle.Pointer));
        GC.KeepAlive(binding);
        GC.KeepAlive(options);
    }

    public OrtIoBinding CreateBinding() => new(this);

    public void Dispose()
    {
        _handle.Dispose();
        _names.Dispose();
    }

    private delegate IntPtr SessionFactory(OrtApi api, IntPtr env, IntPtr options);

    private static OrtInferenceSession Create(OrtSessionSettings? settings, string? externalDataDirectory, SessionFactory create)
    {
        settings ??= new OrtSessionSettings();
        OrtEnvironment env = OrtEnvironment.Shared;
        using OrtSessionOptionsHandle options = OrtSessionOptionsFactory.Create(env, settings, externalDataDirectory);
        IntPtr session;
        OrtProviderUnavailableException? providerError = null;
        try
        {
            session = create(env.Api, env.Handle.Pointer, options.Pointer);
        }
        catch (OrtException e) when ((providerError = OrtSessionOptionsFactory.ExplainSessionFailure(env, settings, e)) != null)
        {
            throw providerError;
        }

        return new OrtInferenceSession(env, new OrtSessionHandle(session));
    }

    private enum Port
    {
        Input,
        Output,
        OverridableInitializer,
    }

    private OrtTensorInfo[] ReadTensorInfos(Port port)
    {
        OrtApi api = _env.Api;
        IntPtr session = _handle.Pointer;
        IntPtr allocator = _env.DefaultAllocator;
        nuint count;
        api.ThrowIfError(port switch
        {
            Port.Input => api.SessionGetInputCount(session, &count),
            Port.Output => api.SessionGetOutputCount(session, &count),
            _ => api.SessionGetOverridableInitializerCount(session, &count),
        });
        var infos = new OrtTensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* rawName;
            api.ThrowIfError(port switch
            {
                Port.Input => api.SessionGetInputName(session, i, allocator, &rawName),
                Port.Output => api.SessionGetOutputName(session, i, allocator, &rawName),
                _ => api.SessionGetOverridableInitializerName(session, i, allocator, &rawName),
            });
            string name;
            try
            {
                name = NativeUtf8.Read(rawName);
            }
            finally
            {
                api.ThrowIfError(api.AllocatorFree(allocator, rawName));
            }

            IntPtr rawType;
            api.ThrowIfError(port switch
            {
                Port.Input => api.SessionGetInputTypeInfo(session, i, &rawType),
                Port.Output => api.SessionGetOutputTypeInfo(session, i, &rawType),
                _ => api.SessionGetOverridableInitializerTypeInfo(session, i, &rawType),
            });
            using var typeInfo = new OrtTypeInfoHandle(rawType);
            infos[(int)i] = DescribeTensor(api, name, rawType);
        }

        return infos;
    }

    private static OrtTensorInfo DescribeTensor(OrtApi api, string name, IntPtr typeInfo)
    {
        IntPtr tensorInfo; // owned by typeInfo
        api.ThrowIfError(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
        if (tensorInfo == IntPtr.Zero)
        {
            return new OrtTensorInfo(name, TensorElementType.Undefined, [], []);
        }

        TensorElementType type;
        nuint rank;
        api.ThrowIfError(api.GetTensorElementType(tensorInfo, &type));
        api.ThrowIfError(api.GetDimensionsCount(tensorInfo, &rank));
        long[] dims = new long[(int)rank];
        IntPtr[] symbols = new IntPtr[(int)rank];
        fixed (long* d = dims)
        fixed (IntPtr* s = symbols)
        {
            api.ThrowIfError(api.GetDimensions(tensorInfo, d, rank));
            api.ThrowIfError(api.GetSymbolicDimensions(tensorInfo, (byte**)s, rank));
        }

        string?[] symbolic = new string?[(int)rank];
        for (int i = 0; i < symbolic.Length; i++)
        {
            string symbol = symbols[i] == IntPtr.Zero ? "" : NativeUtf8.Read((byte*)symbols[i]);
            symbolic[i] = symbol.Length == 0 ? null : symbol;
        }

        return new OrtTensorInfo(name, type, dims, symbolic);
    }
}
