namespace OnnxCoEvo.Cuda;

/// <summary>A libcoevo_cuda call failed: the status it returned and the library's own message (coevo_last_error).</summary>
public sealed class CudaException : Exception
{
    public CudaException(CudaStatus status, string nativeMessage)
        : base($"{nativeMessage} ({status})")
    {
        Status = status;
        NativeMessage = nativeMessage;
    }

    public CudaStatus Status { get; }

    /// <summary>The text of coevo_last_error() right after the failing call.</summary>
    public string NativeMessage { get; }
}
