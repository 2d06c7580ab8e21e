using System.Runtime.InteropServices;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Onnx.Native;

// The whole ONNX Runtime C API surface this toolkit binds, in one file. ORT exports a single symbol,
// OrtGetApiBase; everything else is reached through the OrtApi function-pointer table (an append-only struct of
// pointers, slot i at byte offset i * sizeof(void*)). Slot numbers: shared/reference/onnx-interop.md section 1.2 and
// Appendix A (API 30 = ORT 1.30). Calling convention: the platform default (cdecl on Linux x64).
// To bind another function: add its slot to OrtSlot and a typed property to OrtApi below.

/// <summary><c>struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }</c></summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OrtApiBase
{
    public delegate* unmanaged<uint, void*> GetApi;
    public delegate* unmanaged<byte*> GetVersionString;
}

/// <summary>Slot indices in the OrtApi table (0-based).</summary>
public static class OrtSlot
{
    public const int CreateStatus = 0;
    public const int GetErrorCode = 1;
    public const int GetErrorMessage = 2;
    public const int CreateEnv = 3;
    public const int CreateSession = 7;
    public const int CreateSessionFromArray = 8;
    public const int Run = 9;
    public const int CreateSessionOptions = 10;
    public const int SetSessionGraphOptimizationLevel = 23;
    public const int SetIntraOpNumThreads = 24;
    public const int SetInterOpNumThreads = 25;
    public const int SessionGetInputCount = 30;
    public const int SessionGetOutputCount = 31;
    public const int SessionGetOverridableInitializerCount = 32;
    public const int SessionGetInputTypeInfo = 33;
    public const int SessionGetOutputTypeInfo = 34;
    public const int SessionGetOverridableInitializerTypeInfo = 35;
    public const int SessionGetInputName = 36;
    public const int SessionGetOutputName = 37;
    public const int SessionGetOverridableInitializerName = 38;
    public const int CreateRunOptions = 39;
    public const int CreateTensorAsOrtValue = 48;
    public const int CreateTensorWithDataAsOrtValue = 49;
    public const int IsTensor = 50;
    public const int GetTensorMutableData = 51;
    public const int CastTypeInfoToTensorInfo = 55;
    public const int GetTensorElementType = 60;
    public const int GetDimensionsCount = 61;
    public const int GetDimensions = 62;
    public const int GetSymbolicDimensions = 63;
    public const int GetTensorTypeAndShape = 65;
    public const int CreateCpuMemoryInfo = 69;
    public const int AllocatorFree = 76;
    public const int GetAllocatorWithDefaultOptions = 78;
    public const int ReleaseEnv = 92;
    public const int ReleaseStatus = 93;
    public const int ReleaseMemoryInfo = 94;
    public const int ReleaseSession = 95;
    public const int ReleaseValue = 96;
    public const int ReleaseRunOptions = 97;
    public const int ReleaseTypeInfo = 98;
    public const int ReleaseTensorTypeAndShapeInfo = 99;
    public const int ReleaseSessionOptions = 100;
    public const int GetAvailableProviders = 125;
    public const int ReleaseAvailableProviders = 126;
    public const int AddSessionConfigEntry = 130;
    public const int RunWithBinding = 133;
    public const int CreateIoBinding = 134;
    public const int ReleaseIoBinding = 135;
    public const int BindInput = 136;
    public const int BindOutput = 137;
    public const int BindOutputToDevice = 138;
    public const int GetBoundOutputValues = 140;
    public const int ClearBoundInputs = 141;
    public const int ClearBoundOutputs = 142;
    public const int AddRunConfigEntry = 165;
    public const int SessionOptionsAppendExecutionProvider_CUDA_V2 = 204;
    public const int CreateCUDAProviderOptions = 205;
    public const int UpdateCUDAProviderOptions = 206;
    public const int ReleaseCUDAProviderOptions = 208;
    public const int SessionOptionsAppendExecutionProvider = 216;
    public const int GetBuildInfoString = 254;
    public const int CreateLoraAdapter = 280;
    public const int CreateLoraAdapterFromArray = 281;
    public const int ReleaseLoraAdapter = 282;
    public const int RunOptionsAddActiveLoraAdapter = 283;

    /// <summary>Slots in the API-30 table (0..425).</summary>
    public const int Count = 426;
}

/// <summary>OrtErrorCode, as returned by GetErrorCode.</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
    DeviceReset = 15,
}

/// <summary>OrtLoggingLevel (CreateEnv).</summary>
public enum OrtLoggingLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

/// <summary>OrtAllocatorType (memory info).</summary>
public enum OrtAllocatorType
{
    Invalid = -1,
    Device = 0,
    Arena = 1,
    ReadOnly = 2,
}

/// <summary>OrtMemType (memory info).</summary>
public enum OrtMemType
{
    CpuInput = -2,
    CpuOutput = -1,
    Default = 0,
}

/// <summary>An ORT call returned a non-NULL OrtStatus*: its code and message.</summary>
public sealed class OrtException : Exception
{
    public OrtException(OrtErrorCode code, string message)
        : base($"ONNX Runtime: {message} ({code})")
    {
        Code = code;
        NativeMessage = message;
    }

    /// <summary>ORT's <paramref name="message"/> prefixed with what was being done (e.g. the file being loaded).</summary>
    public OrtException(OrtErrorCode code, string message, string context)
        : base($"ONNX Runtime: {context}: {message} ({code})")
    {
        Code = code;
        NativeMessage = message;
    }

    public OrtErrorCode Code { get; }

    public string NativeMessage { get; }
}

/// <summary>The OrtApi function-pointer table of a loaded ONNX Runtime (valid while the library stays loaded, i.e.
/// for the process: it is never unloaded).</summary>
public readonly unsafe struct OrtApi
{
    private readonly void** _table;

    internal OrtApi(void* table) => _table = (void**)table;

    /// <summary>Address of the table (<c>const OrtApi*</c>).</summary>
    public IntPtr Table => (IntPtr)_table;

    /// <summary>Raw function pointer in slot <paramref name="index"/> (see <see cref="OrtSlot"/>).</summary>
    public IntPtr Slot(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, OrtSlot.Count);
        return (IntPtr)_table[index];
    }

    /// <summary><c>OrtStatus* CreateStatus(OrtErrorCode code, const char* msg)</c></summary>
    public delegate* unmanaged<OrtErrorCode, byte*, nint> CreateStatus =>
        (delegate* unmanaged<OrtErrorCode, byte*, nint>)_table[OrtSlot.CreateStatus];

    /// <summary><c>OrtErrorCode GetErrorCode(const OrtStatus*)</c></summary>
    public delegate* unmanaged<nint, OrtErrorCode> GetErrorCode =>
        (delegate* unmanaged<nint, OrtErrorCode>)_table[OrtSlot.GetErrorCode];

    /// <summary><c>const char* GetErrorMessage(const OrtStatus*) (owned by the status)</c></summary>
    public delegate* unmanaged<nint, byte*> GetErrorMessage =>
        (delegate* unmanaged<nint, byte*>)_table[OrtSlot.GetErrorMessage];

    /// <summary><c>CreateEnv(OrtLoggingLevel, const char* logid, OrtEnv** out)</c></summary>
    public delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint> CreateEnv =>
        (delegate* unmanaged<OrtLoggingLevel, byte*, nint*, nint>)_table[OrtSlot.CreateEnv];

    /// <summary><c>CreateSession(const OrtEnv*, const ORTCHAR_T* model_path, const OrtSessionOptions*, OrtSession** out)</c></summary>
    public delegate* unmanaged<nint, void*, nint, nint*, nint> CreateSession =>
        (delegate* unmanaged<nint, void*, nint, nint*, nint>)_table[OrtSlot.CreateSession];

    /// <summary><c>CreateSessionFromArray(const OrtEnv*, const void* data, size_t len, const OrtSessionOptions*, OrtSession** out)</c></summary>
    public delegate* unmanaged<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray =>
        (delegate* unmanaged<nint, void*, nuint, nint, nint*, nint>)_table[OrtSlot.CreateSessionFromArray];

    /// <summary><c>Run(OrtSession*, const OrtRunOptions*, const char* const* input_names, const OrtValue* const* inputs, size_t input_len, const char* const* output_names, size_t output_len, OrtValue** outputs) (NULL output entries: ORT allocates)</c></summary>
    public delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint> Run =>
        (delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)_table[OrtSlot.Run];

    /// <summary><c>CreateSessionOptions(OrtSessionOptions** out)</c></summary>
    public delegate* unmanaged<nint*, nint> CreateSessionOptions =>
        (delegate* unmanaged<nint*, nint>)_table[OrtSlot.CreateSessionOptions];

    /// <summary><c>SetSessionGraphOptimizationLevel(OrtSessionOptions*, GraphOptimizationLevel)</c></summary>
    public delegate* unmanaged<nint, int, nint> SetSessionGraphOptimizationLevel =>
        (delegate* unmanaged<nint, int, nint>)_table[OrtSlot.SetSessionGraphOptimizationLevel];

    /// <summary><c>SetIntraOpNumThreads(OrtSessionOptions*, int)</c></summary>
    public delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads =>
        (delegate* unmanaged<nint, int, nint>)_table[OrtSlot.SetIntraOpNumThreads];

    /// <summary><c>SetInterOpNumThreads(OrtSessionOptions*, int)</c></summary>
    public delegate* unmanaged<nint, int, nint> SetInterOpNumThreads =>
        (delegate* unmanaged<nint, int, nint>)_table[OrtSlot.SetInterOpNumThreads];

    /// <summary><c>SessionGetInputCount(const OrtSession*, size_t* out)</c></summary>
    public delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount =>
        (delegate* unmanaged<nint, nuint*, nint>)_table[OrtSlot.SessionGetInputCount];

    /// <summary><c>SessionGetOutputCount(const OrtSession*, size_t* out)</c></summary>
    public delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount =>
        (delegate* unmanaged<nint, nuint*, nint>)_table[OrtSlot.SessionGetOutputCount];

    /// <summary><c>SessionGetOverridableInitializerCount(const OrtSession*, size_t* out)</c></summary>
    public delegate* unmanaged<nint, nuint*, nint> SessionGetOverridableInitializerCount =>
        (delegate* unmanaged<nint, nuint*, nint>)_table[OrtSlot.SessionGetOverridableInitializerCount];

    /// <summary><c>SessionGetOverridableInitializerTypeInfo(const OrtSession*, size_t index, OrtTypeInfo** out)</c></summary>
    public delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOverridableInitializerTypeInfo =>
        (delegate* unmanaged<nint, nuint, nint*, nint>)_table[OrtSlot.SessionGetOverridableInitializerTypeInfo];

    /// <summary><c>SessionGetOverridableInitializerName(const OrtSession*, size_t index, OrtAllocator*, char** out) (free with AllocatorFree)</c></summary>
    public delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOverridableInitializerName =>
        (delegate* unmanaged<nint, nuint, nint, byte**, nint>)_table[OrtSlot.SessionGetOverridableInitializerName];

    /// <summary><c>SessionGetInputTypeInfo(const OrtSession*, size_t index, OrtTypeInfo** out)</c></summary>
    public delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo =>
        (delegate* unmanaged<nint, nuint, nint*, nint>)_table[OrtSlot.SessionGetInputTypeInfo];

    /// <summary><c>SessionGetOutputTypeInfo(const OrtSession*, size_t index, OrtTypeInfo** out)</c></summary>
    public delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo =>
        (delegate* unmanaged<nint, nuint, nint*, nint>)_table[OrtSlot.SessionGetOutputTypeInfo];

    /// <summary><c>SessionGetInputName(const OrtSession*, size_t index, OrtAllocator*, char** out) (free with AllocatorFree)</c></summary>
    public delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetInputName =>
        (delegate* unmanaged<nint, nuint, nint, byte**, nint>)_table[OrtSlot.SessionGetInputName];

    /// <summary><c>SessionGetOutputName(const OrtSession*, size_t index, OrtAllocator*, char** out) (free with AllocatorFree)</c></summary>
    public delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOutputName =>
        (delegate* unmanaged<nint, nuint, nint, byte**, nint>)_table[OrtSlot.SessionGetOutputName];

    /// <summary><c>CreateRunOptions(OrtRunOptions** out)</c></summary>
    public delegate* unmanaged<nint*, nint> CreateRunOptions =>
        (delegate* unmanaged<nint*, nint>)_table[OrtSlot.CreateRunOptions];

    /// <summary><c>CreateTensorAsOrtValue(OrtAllocator*, const int64_t* shape, size_t rank, ONNXTensorElementDataType, OrtValue** out)</c></summary>
    public delegate* unmanaged<nint, long*, nuint, TensorElementType, nint*, nint> CreateTensorAsOrtValue =>
        (delegate* unmanaged<nint, long*, nuint, TensorElementType, nint*, nint>)_table[OrtSlot.CreateTensorAsOrtValue];

    /// <summary><c>CreateTensorWithDataAsOrtValue(const OrtMemoryInfo*, void* data, size_t bytes, const int64_t* shape, size_t rank, ONNXTensorElementDataType, OrtValue** out) (no copy: keep the buffer pinned)</c></summary>
    public delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint> CreateTensorWithDataAsOrtValue =>
        (delegate* unmanaged<nint, void*, nuint, long*, nuint, TensorElementType, nint*, nint>)_table[OrtSlot.CreateTensorWithDataAsOrtValue];

    /// <summary><c>IsTensor(const OrtValue*, int* out)</c></summary>
    public delegate* unmanaged<nint, int*, nint> IsTensor =>
        (delegate* unmanaged<nint, int*, nint>)_table[OrtSlot.IsTensor];

    /// <summary><c>GetTensorMutableData(OrtValue*, void** out)</c></summary>
    public delegate* unmanaged<nint, void**, nint> GetTensorMutableData =>
        (delegate* unmanaged<nint, void**, nint>)_table[OrtSlot.GetTensorMutableData];

    /// <summary><c>CastTypeInfoToTensorInfo(const OrtTypeInfo*, const OrtTensorTypeAndShapeInfo** out) (not owned; NULL for non-tensors)</c></summary>
    public delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo =>
        (delegate* unmanaged<nint, nint*, nint>)_table[OrtSlot.CastTypeInfoToTensorInfo];

    /// <summary><c>GetTensorElementType(const OrtTensorTypeAndShapeInfo*, ONNXTensorElementDataType* out)</c></summary>
    public delegate* unmanaged<nint, TensorElementType*, nint> GetTensorElementType =>
        (delegate* unmanaged<nint, TensorElementType*, nint>)_table[OrtSlot.GetTensorElementType];

    /// <summary><c>GetDimensionsCount(const OrtTensorTypeAndShapeInfo*, size_t* out)</c></summary>
    public delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount =>
        (delegate* unmanaged<nint, nuint*, nint>)_table[OrtSlot.GetDimensionsCount];

    /// <summary><c>GetDimensions(const OrtTensorTypeAndShapeInfo*, int64_t* dims, size_t count)</c></summary>
    public delegate* unmanaged<nint, long*, nuint, nint> GetDimensions =>
        (delegate* unmanaged<nint, long*, nuint, nint>)_table[OrtSlot.GetDimensions];

    /// <summary><c>GetSymbolicDimensions(const OrtTensorTypeAndShapeInfo*, const char* dim_params[], size_t count) (strings owned by the info; "" where fixed)</c></summary>
    public delegate* unmanaged<nint, byte**, nuint, nint> GetSymbolicDimensions =>
        (delegate* unmanaged<nint, byte**, nuint, nint>)_table[OrtSlot.GetSymbolicDimensions];

    /// <summary><c>GetTensorTypeAndShape(const OrtValue*, OrtTensorTypeAndShapeInfo** out) (release with ReleaseTensorTypeAndShapeInfo)</c></summary>
    public delegate* unmanaged<nint, nint*, nint> GetTensorTypeAndShape =>
        (delegate* unmanaged<nint, nint*, nint>)_table[OrtSlot.GetTensorTypeAndShape];

    /// <summary><c>CreateCpuMemoryInfo(OrtAllocatorType, OrtMemType, OrtMemoryInfo** out)</c></summary>
    public delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint> CreateCpuMemoryInfo =>
        (delegate* unmanaged<OrtAllocatorType, OrtMemType, nint*, nint>)_table[OrtSlot.CreateCpuMemoryInfo];

    /// <summary><c>AllocatorFree(OrtAllocator*, void* p)</c></summary>
    public delegate* unmanaged<nint, void*, nint> AllocatorFree =>
        (delegate* unmanaged<nint, void*, nint>)_table[OrtSlot.AllocatorFree];

    /// <summary><c>GetAllocatorWithDefaultOptions(OrtAllocator** out) (the CPU allocator; never released)</c></summary>
    public delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions =>
        (delegate* unmanaged<nint*, nint>)_table[OrtSlot.GetAllocatorWithDefaultOptions];

    /// <summary><c>void ReleaseEnv(OrtEnv*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseEnv =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseEnv];

    /// <summary><c>void ReleaseStatus(OrtStatus*) (NULL allowed)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseStatus =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseStatus];

    /// <summary><c>void ReleaseMemoryInfo(OrtMemoryInfo*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseMemoryInfo =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseMemoryInfo];

    /// <summary><c>void ReleaseSession(OrtSession*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseSession =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseSession];

    /// <summary><c>void ReleaseValue(OrtValue*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseValue =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseValue];

    /// <summary><c>void ReleaseRunOptions(OrtRunOptions*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseRunOptions =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseRunOptions];

    /// <summary><c>void ReleaseTypeInfo(OrtTypeInfo*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseTypeInfo =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseTypeInfo];

    /// <summary><c>void ReleaseTensorTypeAndShapeInfo(OrtTensorTypeAndShapeInfo*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseTensorTypeAndShapeInfo =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseTensorTypeAndShapeInfo];

    /// <summary><c>void ReleaseSessionOptions(OrtSessionOptions*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseSessionOptions =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseSessionOptions];

    /// <summary><c>GetAvailableProviders(char*** out, int* count)</c></summary>
    public delegate* unmanaged<byte***, int*, nint> GetAvailableProviders =>
        (delegate* unmanaged<byte***, int*, nint>)_table[OrtSlot.GetAvailableProviders];

    /// <summary><c>ReleaseAvailableProviders(char** providers, int count)</c></summary>
    public delegate* unmanaged<byte**, int, nint> ReleaseAvailableProviders =>
        (delegate* unmanaged<byte**, int, nint>)_table[OrtSlot.ReleaseAvailableProviders];

    /// <summary><c>AddSessionConfigEntry(OrtSessionOptions*, const char* key, const char* value)</c></summary>
    public delegate* unmanaged<nint, byte*, byte*, nint> AddSessionConfigEntry =>
        (delegate* unmanaged<nint, byte*, byte*, nint>)_table[OrtSlot.AddSessionConfigEntry];

    /// <summary><c>RunWithBinding(OrtSession*, const OrtRunOptions*, const OrtIoBinding*)</c></summary>
    public delegate* unmanaged<nint, nint, nint, nint> RunWithBinding =>
        (delegate* unmanaged<nint, nint, nint, nint>)_table[OrtSlot.RunWithBinding];

    /// <summary><c>CreateIoBinding(OrtSession*, OrtIoBinding** out)</c></summary>
    public delegate* unmanaged<nint, nint*, nint> CreateIoBinding =>
        (delegate* unmanaged<nint, nint*, nint>)_table[OrtSlot.CreateIoBinding];

    /// <summary><c>void ReleaseIoBinding(OrtIoBinding*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseIoBinding =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseIoBinding];

    /// <summary><c>BindInput(OrtIoBinding*, const char* name, const OrtValue*)</c></summary>
    public delegate* unmanaged<nint, byte*, nint, nint> BindInput =>
        (delegate* unmanaged<nint, byte*, nint, nint>)_table[OrtSlot.BindInput];

    /// <summary><c>BindOutput(OrtIoBinding*, const char* name, const OrtValue*)</c></summary>
    public delegate* unmanaged<nint, byte*, nint, nint> BindOutput =>
        (delegate* unmanaged<nint, byte*, nint, nint>)_table[OrtSlot.BindOutput];

    /// <summary><c>BindOutputToDevice(OrtIoBinding*, const char* name, const OrtMemoryInfo*)</c></summary>
    public delegate* unmanaged<nint, byte*, nint, nint> BindOutputToDevice =>
        (delegate* unmanaged<nint, byte*, nint, nint>)_table[OrtSlot.BindOutputToDevice];

    /// <summary><c>GetBoundOutputValues(const OrtIoBinding*, OrtAllocator*, OrtValue*** out, size_t* count) (array: AllocatorFree; values: ReleaseValue)</c></summary>
    public delegate* unmanaged<nint, nint, nint**, nuint*, nint> GetBoundOutputValues =>
        (delegate* unmanaged<nint, nint, nint**, nuint*, nint>)_table[OrtSlot.GetBoundOutputValues];

    /// <summary><c>void ClearBoundInputs(OrtIoBinding*)</c></summary>
    public delegate* unmanaged<nint, void> ClearBoundInputs =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ClearBoundInputs];

    /// <summary><c>void ClearBoundOutputs(OrtIoBinding*)</c></summary>
    public delegate* unmanaged<nint, void> ClearBoundOutputs =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ClearBoundOutputs];

    /// <summary><c>AddRunConfigEntry(OrtRunOptions*, const char* key, const char* value)</c></summary>
    public delegate* unmanaged<nint, byte*, byte*, nint> AddRunConfigEntry =>
        (delegate* unmanaged<nint, byte*, byte*, nint>)_table[OrtSlot.AddRunConfigEntry];

    /// <summary><c>SessionOptionsAppendExecutionProvider_CUDA_V2(OrtSessionOptions*, const OrtCUDAProviderOptionsV2*)</c></summary>
    public delegate* unmanaged<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2 =>
        (delegate* unmanaged<nint, nint, nint>)_table[OrtSlot.SessionOptionsAppendExecutionProvider_CUDA_V2];

    /// <summary><c>CreateCUDAProviderOptions(OrtCUDAProviderOptionsV2** out)</c></summary>
    public delegate* unmanaged<nint*, nint> CreateCUDAProviderOptions =>
        (delegate* unmanaged<nint*, nint>)_table[OrtSlot.CreateCUDAProviderOptions];

    /// <summary><c>UpdateCUDAProviderOptions(OrtCUDAProviderOptionsV2*, const char* const* keys, const char* const* values, size_t count)</c></summary>
    public delegate* unmanaged<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions =>
        (delegate* unmanaged<nint, byte**, byte**, nuint, nint>)_table[OrtSlot.UpdateCUDAProviderOptions];

    /// <summary><c>void ReleaseCUDAProviderOptions(OrtCUDAProviderOptionsV2*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseCUDAProviderOptions =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseCUDAProviderOptions];

    /// <summary><c>SessionOptionsAppendExecutionProvider(OrtSessionOptions*, const char* provider_name, const char* const* keys, const char* const* values, size_t count)</c></summary>
    public delegate* unmanaged<nint, byte*, byte**, byte**, nuint, nint> SessionOptionsAppendExecutionProvider =>
        (delegate* unmanaged<nint, byte*, byte**, byte**, nuint, nint>)_table[OrtSlot.SessionOptionsAppendExecutionProvider];

    /// <summary><c>const char* GetBuildInfoString(void)</c></summary>
    public delegate* unmanaged<byte*> GetBuildInfoString =>
        (delegate* unmanaged<byte*>)_table[OrtSlot.GetBuildInfoString];

    /// <summary><c>CreateLoraAdapter(const ORTCHAR_T* path, OrtAllocator* device_allocator (NULL: stay on CPU), OrtLoraAdapter** out) (memory-maps the file)</c></summary>
    public delegate* unmanaged<void*, nint, nint*, nint> CreateLoraAdapter =>
        (delegate* unmanaged<void*, nint, nint*, nint>)_table[OrtSlot.CreateLoraAdapter];

    /// <summary><c>CreateLoraAdapterFromArray(const void* bytes, size_t count, OrtAllocator* device_allocator (nullable), OrtLoraAdapter** out) (copies the bytes)</c></summary>
    public delegate* unmanaged<void*, nuint, nint, nint*, nint> CreateLoraAdapterFromArray =>
        (delegate* unmanaged<void*, nuint, nint, nint*, nint>)_table[OrtSlot.CreateLoraAdapterFromArray];

    /// <summary><c>void ReleaseLoraAdapter(OrtLoraAdapter*)</c></summary>
    public delegate* unmanaged<nint, void> ReleaseLoraAdapter =>
        (delegate* unmanaged<nint, void>)_table[OrtSlot.ReleaseLoraAdapter];

    /// <summary><c>RunOptionsAddActiveLoraAdapter(OrtRunOptions*, const OrtLoraAdapter*)</c></summary>
    public delegate* unmanaged<nint, nint, nint> RunOptionsAddActiveLoraAdapter =>
        (delegate* unmanaged<nint, nint, nint>)_table[OrtSlot.RunOptionsAddActiveLoraAdapter];

    /// <summary>Turns an <c>OrtStatus*</c> result into an exception: NULL is success; otherwise reads code and message,
    /// releases the status, and throws <see cref="OrtException"/>.</summary>
    public void ThrowIfError(IntPtr status)
    {
        if (status == IntPtr.Zero)
        {
            return;
        }

        OrtErrorCode code = GetErrorCode(status);
        string message = Marshal.PtrToStringUTF8((IntPtr)GetErrorMessage(status)) ?? "";
        ReleaseStatus(status);
        throw new OrtException(code, message);
    }
}
