using System.Runtime.InteropServices;

namespace OnnxCoEvo.Cuda;

/// <summary>
/// Every function of native/include/coevo.h, one line each, in the header's order. Nothing else calls into
/// libcoevo_cuda. Strings coming back are borrowed (<c>const char*</c> owned by the library), so they are declared as
/// pointers and copied with <see cref="Marshal.PtrToStringUTF8(IntPtr)"/>, never freed.
/// </summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>The name P/Invoke asks for; <see cref="CudaLibrary"/> resolves it to the actual file.</summary>
    public const string LibraryName = "coevo_cuda";

    /// <summary>COEVO_ABI_VERSION of the header these declarations were written against.</summary>
    public const int AbiVersion = 2;

    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, CudaLibrary.Resolve);

    // ---- library ----
    [LibraryImport(LibraryName)] public static partial IntPtr coevo_last_error();
    [LibraryImport(LibraryName)] public static partial int coevo_abi_version();
    [LibraryImport(LibraryName)] public static partial int coevo_version();
    [LibraryImport(LibraryName)] public static partial IntPtr coevo_build_info();
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_device_count(out int count);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_device_name(int device, byte* name, nuint capacity);

    // ---- context ----
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_create(int device, out CudaContextHandle context);
    [LibraryImport(LibraryName)] public static partial void coevo_context_destroy(IntPtr context);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_synchronize(CudaContextHandle context);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_device(CudaContextHandle context, out int device);

    // ---- buffers ----
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_alloc(CudaContextHandle context, nuint bytes, out CudaBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial void coevo_buffer_free(IntPtr buffer);
    [LibraryImport(LibraryName)] public static partial nuint coevo_buffer_size(CudaBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_upload(CudaContextHandle context, CudaBufferHandle buffer, nuint offset, void* src, nuint bytes);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_download(CudaContextHandle context, CudaBufferHandle buffer, nuint offset, void* dst, nuint bytes);

    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_copy(CudaContextHandle context, CudaBufferHandle dst, nuint dstOffset, CudaBufferHandle src, nuint srcOffset, nuint bytes);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_buffer_zero(CudaContextHandle context, CudaBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_set_attention_kernel(CudaContextHandle context, AttentionKernel kernel);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_timer_start(CudaContextHandle context);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_timer_stop(CudaContextHandle context, out float milliseconds);
    [LibraryImport(LibraryName)] public static partial CudaStatus coevo_context_memory(CudaContextHandle context, int resetPeak, out nuint free, out nuint total, out nuint scratchPeak);

    // ---- kernels (a null CudaBufferHandle is passed as an invalid handle: NULL) ----
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rmsnorm_forward_f32(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle y, CudaBufferHandle rstd, int rows, int dim, float eps);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_embedding_forward(CudaContextHandle context, CudaBufferHandle ids, CudaBufferHandle table,
        CudaBufferHandle y, int tokens, int vocab, int dim);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_embedding_backward(CudaContextHandle context, CudaBufferHandle ids, CudaBufferHandle dy,
        CudaBufferHandle dtable, int tokens, int vocab, int dim);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rmsnorm_forward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle y, CudaBufferHandle rstd, int rows, int dim, float eps);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rmsnorm_backward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle rstd, CudaBufferHandle dy, CudaBufferHandle dx, CudaBufferHandle dweight, int rows, int dim, int accumulateDx);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rope_forward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle positions,
        CudaBufferHandle cos, CudaBufferHandle sin, int tokens, int heads, int headDim, int tablePositions);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_rope_backward(CudaContextHandle context, CudaBufferHandle dx, CudaBufferHandle positions,
        CudaBufferHandle cos, CudaBufferHandle sin, int tokens, int heads, int headDim, int tablePositions);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_swiglu_forward(CudaContextHandle context, CudaBufferHandle gate, CudaBufferHandle up,
        CudaBufferHandle h, int rows, int width);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_swiglu_backward(CudaContextHandle context, CudaBufferHandle gate, CudaBufferHandle up,
        CudaBufferHandle dh, CudaBufferHandle dgate, CudaBufferHandle dup, int rows, int width);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_attention_forward(CudaContextHandle context, CudaBufferHandle q, CudaBufferHandle k,
        CudaBufferHandle v, CudaBufferHandle cuSeqlens, CudaBufferHandle o, CudaBufferHandle lse, int tokens, int sequences,
        int maxSeqlen, int heads, int kvHeads, int headDim, int window);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_attention_backward(CudaContextHandle context, CudaBufferHandle q, CudaBufferHandle k,
        CudaBufferHandle v, CudaBufferHandle o, CudaBufferHandle lse, CudaBufferHandle dout, CudaBufferHandle cuSeqlens,
        CudaBufferHandle dq, CudaBufferHandle dk, CudaBufferHandle dv, int tokens, int sequences, int maxSeqlen, int heads,
        int kvHeads, int headDim, int window);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_linear_forward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle bias, CudaBufferHandle y, int rows, int inFeatures, int outFeatures);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_linear_backward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle weight,
        CudaBufferHandle dy, CudaBufferHandle dx, CudaBufferHandle dweight, int rows, int inFeatures, int outFeatures, int accumulateDx);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_lora_forward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle a,
        CudaBufferHandle b, float scaling, CudaBufferHandle xa, CudaBufferHandle y, int rows, int inFeatures, int outFeatures, int rank);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_lora_backward(CudaContextHandle context, CudaBufferHandle x, CudaBufferHandle a,
        CudaBufferHandle b, float scaling, CudaBufferHandle xa, CudaBufferHandle dy, CudaBufferHandle dx, CudaBufferHandle da,
        CudaBufferHandle db, int rows, int inFeatures, int outFeatures, int rank);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_token_logprobs_forward(CudaContextHandle context, CudaBufferHandle hidden,
        CudaBufferHandle weight, CudaBufferHandle targets, CudaBufferHandle rows, CudaBufferHandle logp, CudaBufferHandle lse,
        int tokens, int dim, int vocab, int scored, int chunkRows);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_token_logprobs_backward(CudaContextHandle context, CudaBufferHandle hidden,
        CudaBufferHandle weight, CudaBufferHandle targets, CudaBufferHandle rows, CudaBufferHandle lse, CudaBufferHandle dlogp,
        CudaBufferHandle dhidden, int tokens, int dim, int vocab, int scored, int chunkRows);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_sft_loss(CudaContextHandle context, CudaBufferHandle logp, CudaBufferHandle mask,
        CudaBufferHandle loss, CudaBufferHandle grad, int tokens, long batchScoredTokens);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_dpo_loss(CudaContextHandle context, CudaBufferHandle logp, CudaBufferHandle mask,
        CudaBufferHandle cuSeqlens, CudaBufferHandle reference, CudaBufferHandle result, CudaBufferHandle grad, int tokens, int pairs,
        double beta, double dpoWeight, double nllWeight, int nllTokenMean, int batchPairs, long batchChosenTokens);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_adamw_step(CudaContextHandle context, CudaBufferHandle param, CudaBufferHandle grad,
        CudaBufferHandle m, CudaBufferHandle v, CudaBufferHandle paramBf16, long n, float learningRate, double beta1, double beta2,
        double epsilon, double weightDecay, long step);
    [LibraryImport(LibraryName)]
    public static partial CudaStatus coevo_sample_tokens(CudaContextHandle context, CudaBufferHandle logits, CudaBufferHandle uniforms,
        CudaBufferHandle ids, int rows, int vocab, float temperature, int topK, float topP);

    /// <summary>The calling thread's last native error message.</summary>
    public static string LastError() => Marshal.PtrToStringUTF8(coevo_last_error()) ?? "";

    /// <summary>Throws <see cref="CudaException"/> with the native message unless <paramref name="status"/> is OK.</summary>
    public static void Check(CudaStatus status)
    {
        if (status != CudaStatus.Ok)
        {
            throw new CudaException(status, LastError());
        }
    }
}
