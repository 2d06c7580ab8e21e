using System.Runtime.InteropServices;

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
    public const int ReleaseStatus = 93;

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

/// <summary>An ORT call returned a non-NULL OrtStatus*: its code and message.</summary>
public sealed class OrtException : Exception
{
    public OrtException(OrtErrorCode code, string message)
        : base($"ONNX Runtime: {message} ({code})")
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
    public delegate* unmanaged<OrtErrorCode, byte*, IntPtr> CreateStatus =>
        (delegate* unmanaged<OrtErrorCode, byte*, IntPtr>)_table[OrtSlot.CreateStatus];

    /// <summary><c>OrtErrorCode GetErrorCode(const OrtStatus*)</c></summary>
    public delegate* unmanaged<IntPtr, OrtErrorCode> GetErrorCode =>
        (delegate* unmanaged<IntPtr, OrtErrorCode>)_table[OrtSlot.GetErrorCode];

    /// <summary><c>const char* GetErrorMessage(const OrtStatus*)</c> (owned by the status)</summary>
    public delegate* unmanaged<IntPtr, byte*> GetErrorMessage =>
        (delegate* unmanaged<IntPtr, byte*>)_table[OrtSlot.GetErrorMessage];

    /// <summary><c>void ReleaseStatus(OrtStatus*)</c> (NULL allowed)</summary>
    public delegate* unmanaged<IntPtr, void> ReleaseStatus =>
        (delegate* unmanaged<IntPtr, void>)_table[OrtSlot.ReleaseStatus];

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
