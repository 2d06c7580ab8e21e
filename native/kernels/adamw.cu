// AdamW on fp32 master weights (torch.optim.AdamW's update). Twin: src/Managed/OnnxCoEvo.Training/Optim/AdamW.cs.
// Scalars are computed once per step on the host in double and rounded to fp32, exactly as the twin does
// (src/adamw.cpp); per element, in the twin's order of operations:
//   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
//   p <- p decay - step_size m / (sqrt(v) inverse_bias2_sqrt + eps)
// with decay = 1 - lr wd, step_size = lr / (1 - b1^t), inverse_bias2_sqrt = 1 / sqrt(1 - b2^t).
// Optionally writes the bf16 copy of p that the forward pass reads (LoRA A and B as GEMM operands).
// Layout: p, g, m, v [n] fp32; p_bf16 [n] bf16 or NULL. One element per thread per grid-stride step.
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

__device__ __forceinline__ float update(float& p, float g, float& m, float& v, const AdamWScalars& s) {
    // __fmul_rn/__fadd_rn keep each product and sum separately rounded, as the twin's vector code computes them.
    const float first = __fadd_rn(__fmul_rn(s.beta1, m), __fmul_rn(s.one_minus_beta1, g));
    const float second = __fadd_rn(__fmul_rn(s.beta2, v), __fmul_rn(s.one_minus_beta2, __fmul_rn(g, g)));
    m = first;
    v = second;
    const float denominator = __fadd_rn(__fmul_rn(sqrtf(second), s.inverse_bias2_sqrt), s.epsilon);
    p = __fsub_rn(__fmul_rn(p, s.decay), __fdiv_rn(__fmul_rn(s.step_size, first), denominator));
    return p;
}

__global__ void adamw_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                             float* __restrict__ v, bf16* __restrict__ param_bf16, long long n, AdamWScalars s) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        float p = param[i], mi = m[i], vi = v[i];
        update(p, grad[i], mi, vi, s);
        param[i] = p;
        m[i] = mi;
        v[i] = vi;
        if (param_bf16 != nullptr) param_bf16[i] = to_bf16(p);
    }
}

}  // namespace

cudaError_t adamw_step(float* param, const float* grad, float* m, float* v, bf16* param_bf16, long long n,
                       const AdamWScalars& s, cudaStream_t stream) {
    adamw_kernel<<<elementwise_blocks(n, 256), 256, 0, stream>>>(param, grad, m, v, param_bf16, n, s);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
