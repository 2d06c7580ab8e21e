using OnnxCoEvo.Cuda;

namespace OnnxCoEvo.Tests.Native;

/// <summary>
/// Every kernel entry of native/include/coevo.h is exported under the name NativeMethods declares, and checks its
/// arguments before touching a device: with a NULL context each returns InvalidArgument naming itself. Needs the library
/// (built wherever nvcc is), not a GPU.
/// </summary>
public sealed class NativeAbiTests
{
    private static readonly CudaContextHandle NoContext = new();
    private static readonly CudaBufferHandle No = new();

    public static TheoryData<string> EntryPoints => new(Calls.Keys);

    private static readonly Dictionary<string, Func<CudaStatus>> Calls = new()
    {
        ["coevo_buffer_copy"] = () => NativeMethods.coevo_buffer_copy(NoContext, No, 0, No, 0, 4),
        ["coevo_buffer_zero"] = () => NativeMethods.coevo_buffer_zero(NoContext, No),
        ["coevo_context_set_attention_kernel"] = () => NativeMethods.coevo_context_set_attention_kernel(NoContext, AttentionKernel.TensorCores),
        ["coevo_context_timer_start"] = () => NativeMethods.coevo_context_timer_start(NoContext),
        ["coevo_context_timer_stop"] = () => NativeMethods.coevo_context_timer_stop(NoContext, out _),
        ["coevo_context_memory"] = () => NativeMethods.coevo_context_memory(NoContext, 0, out _, out _, out _),
        ["coevo_embedding_forward"] = () => NativeMethods.coevo_embedding_forward(NoContext, No, No, No, 4, 8, 8),
        ["coevo_embedding_backward"] = () => NativeMethods.coevo_embedding_backward(NoContext, No, No, No, 4, 8, 8),
        ["coevo_rmsnorm_forward"] = () => NativeMethods.coevo_rmsnorm_forward(NoContext, No, No, No, No, 4, 8, 1e-5f),
        ["coevo_rmsnorm_backward"] = () => NativeMethods.coevo_rmsnorm_backward(NoContext, No, No, No, No, No, No, 4, 8, 0),
        ["coevo_rope_forward"] = () => NativeMethods.coevo_rope_forward(NoContext, No, No, No, No, 4, 2, 64, 16),
        ["coevo_rope_backward"] = () => NativeMethods.coevo_rope_backward(NoContext, No, No, No, No, 4, 2, 64, 16),
        ["coevo_swiglu_forward"] = () => NativeMethods.coevo_swiglu_forward(NoContext, No, No, No, 4, 8),
        ["coevo_swiglu_backward"] = () => NativeMethods.coevo_swiglu_backward(NoContext, No, No, No, No, No, 4, 8),
        ["coevo_attention_forward"] = () => NativeMethods.coevo_attention_forward(NoContext, No, No, No, No, No, No, 8, 1, 8, 4, 2, 64, 0),
        ["coevo_attention_backward"] = () => NativeMethods.coevo_attention_backward(NoContext, No, No, No, No, No, No, No, No, No, No, 8, 1, 8, 4, 2, 64, 0),
        ["coevo_linear_forward"] = () => NativeMethods.coevo_linear_forward(NoContext, No, No, No, No, 4, 8, 8),
        ["coevo_linear_backward"] = () => NativeMethods.coevo_linear_backward(NoContext, No, No, No, No, No, 4, 8, 8, 0),
        ["coevo_lora_forward"] = () => NativeMethods.coevo_lora_forward(NoContext, No, No, No, 2f, No, No, 4, 8, 8, 2),
        ["coevo_lora_backward"] = () => NativeMethods.coevo_lora_backward(NoContext, No, No, No, 2f, No, No, No, No, No, 4, 8, 8, 2),
        ["coevo_token_logprobs_forward"] = () => NativeMethods.coevo_token_logprobs_forward(NoContext, No, No, No, No, No, No, 4, 8, 16, 2, 0),
        ["coevo_token_logprobs_backward"] = () => NativeMethods.coevo_token_logprobs_backward(NoContext, No, No, No, No, No, No, No, 4, 8, 16, 2, 0),
        ["coevo_sft_loss"] = () => NativeMethods.coevo_sft_loss(NoContext, No, No, No, No, 4, 4),
        ["coevo_dpo_loss"] = () => NativeMethods.coevo_dpo_loss(NoContext, No, No, No, No, No, No, 8, 1, 0.1, 1, 0, 1, 1, 4),
        ["coevo_adamw_step"] = () => NativeMethods.coevo_adamw_step(NoContext, No, No, No, No, No, 8, 1e-4f, 0.9, 0.999, 1e-8, 0, 1),
        ["coevo_sample_tokens"] = () => NativeMethods.coevo_sample_tokens(NoContext, No, No, No, 2, 16, 1f, 0, 1f),
    };

    [CudaLibraryTheory]
    [MemberData(nameof(EntryPoints))]
    public void EntryPoint_IsExported_AndRejectsANullContextByName(string name)
    {
        var ex = Assert.Throws<CudaException>(() => NativeMethods.Check(Calls[name]()));

        Assert.Equal(CudaStatus.InvalidArgument, ex.Status);
        Assert.Equal($"{name}: context is NULL", ex.NativeMessage);
    }

    [CudaLibraryFact]
    public void LibraryVersion_IsTheHeadersVersion()
    {
        string header = File.ReadAllText(Path.Combine(CudaBackendTests.RepoRoot(), "native", "include", "coevo.h"));
        string Define(string name) => System.Text.RegularExpressions.Regex.Match(header, $@"#define {name} (\d+)").Groups[1].Value;

        Assert.Equal($"{Define("COEVO_VERSION_MAJOR")}.{Define("COEVO_VERSION_MINOR")}.{Define("COEVO_VERSION_PATCH")}", CudaBackend.LibraryVersion());
    }

    [GpuFact]
    public void ContextAndBuffer_ReportWhatTheyWereCreatedWith()
    {
        using CudaContext context = CudaBackend.Create(0);
        using DeviceBuffer<BFloat16> buffer = context.Allocate<BFloat16>(1000);

        Assert.Equal(0, context.QueryDevice());
        Assert.Equal(2000, buffer.AllocatedBytes);
        context.AttentionKernel = AttentionKernel.TensorCores;
        var ex = Assert.Throws<CudaException>(() => context.AttentionKernel = (AttentionKernel)7);
        Assert.Contains("COEVO_ATTENTION_FMA (0) or COEVO_ATTENTION_TENSOR_CORES (1)", ex.NativeMessage);
        Assert.Equal(AttentionKernel.TensorCores, context.AttentionKernel);
    }
}
