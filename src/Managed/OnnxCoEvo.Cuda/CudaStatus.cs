namespace OnnxCoEvo.Cuda;

/// <summary>Mirror of <c>coevo_status</c> in native/include/coevo.h (same values).</summary>
public enum CudaStatus
{
    Ok = 0,
    InvalidArgument = 1,
    CudaError = 2,
    OutOfMemory = 3,
    NotAvailable = 4,
    InternalError = 5,
}
