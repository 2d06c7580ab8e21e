// The LM head fused with log-softmax and the gather of each target token's log-probability. Twin:
// src/Managed/OnnxCoEvo.Training/Cpu/TokenLogProbs.cs. Only scored rows are computed, in chunks of rows, so the
// [T, vocab] logits never exist (src/token_logprobs.cpp drives the chunks: gather rows, cuBLAS GEMM into fp32 logits
// [chunk, vocab], then these row kernels).
// Forward, per scored row t (z = h[t] W^T, fp32 from bf16 inputs with fp32 accumulation):
//   m = max_v z[v];  S = sum_v exp(z[v] - m)  (one pass: running max and rescaled sum per thread, then the block's)
//   logp[t] = (z[target] - m) - log S;  lse[t] = m + log S
// Backward (logits recomputed per chunk; only lse is saved):
//   dz = dlogp[t] (onehot(target) - exp(z - lse[t]))  (bf16, the input of the next GEMM)
//   dh[t] = dz W  (cuBLAS; rows scattered back, unscored rows 0)
// Layout: hidden, dhidden [T, dim] bf16; W [vocab, dim] bf16; targets [T] int32; rows [n] int32 (scored token
// indices); logp, lse, dlogp [T] fp32.
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

constexpr int kRowThreads = 1024;

__global__ void gather_rows_kernel(const bf16* __restrict__ src, const int32_t* __restrict__ rows,
                                   bf16* __restrict__ dst, int dim) {
    const size_t from = static_cast<size_t>(rows[blockIdx.x]) * dim, to = static_cast<size_t>(blockIdx.x) * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) dst[to + c] = src[from + c];
}

__global__ void scatter_rows_kernel(const bf16* __restrict__ src, const int32_t* __restrict__ rows,
                                    bf16* __restrict__ dst, int dim) {
    const size_t from = static_cast<size_t>(blockIdx.x) * dim, to = static_cast<size_t>(rows[blockIdx.x]) * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) dst[to + c] = src[from + c];
}

__global__ void __launch_bounds__(kRowThreads)
    logprob_rows_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets,
                        const int32_t* __restrict__ rows, float* __restrict__ logp, float* __restrict__ lse, int vocab) {
    __shared__ float scratch[32];
    const float* z = logits + static_cast<size_t>(blockIdx.x) * vocab;
    float m = -INFINITY, s = 0.0f;
    for (int v = threadIdx.x; v < vocab; v += kRowThreads) {
        const float x = z[v];
        if (x > m) {
            s = s * expf(m - x) + 1.0f;
            m = x;
        } else {
            s += expf(x - m);
        }
    }
    const float block_m = block_max(m, scratch);
    const float total = block_sum(m == -INFINITY ? 0.0f : s * expf(m - block_m), scratch);
    if (threadIdx.x == 0) {
        const int t = rows[blockIdx.x];
        const float log_sum = logf(total);
        logp[t] = (z[targets[t]] - block_m) - log_sum;
        lse[t] = block_m + log_sum;
    }
}

__global__ void logprob_grad_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets,
                                    const int32_t* __restrict__ rows, const float* __restrict__ lse,
                                    const float* __restrict__ dlogp, bf16* __restrict__ dz, int vocab) {
    const int t = rows[blockIdx.x];
    const float l = lse[t], g = dlogp[t];
    const int target = targets[t];
    const size_t base = static_cast<size_t>(blockIdx.x) * vocab;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        float d = -g * expf(logits[base + v] - l);
        if (v == target) d += g;
        dz[base + v] = to_bf16(d);
    }
}

}  // namespace

cudaError_t gather_rows(const bf16* src, const int32_t* rows, bf16* dst, int count, int dim, cudaStream_t stream) {
    gather_rows_kernel<<<count, 256, 0, stream>>>(src, rows, dst, dim);
    return cudaGetLastError();
}

cudaError_t scatter_rows(const bf16* src, const int32_t* rows, bf16* dst, int count, int dim, cudaStream_t stream) {
    scatter_rows_kernel<<<count, 256, 0, stream>>>(src, rows, dst, dim);
    return cudaGetLastError();
}

cudaError_t logprob_rows(const float* logits, const int32_t* targets, const int32_t* rows, float* logp, float* lse,
                         int count, int vocab, cudaStream_t stream) {
    logprob_rows_kernel<<<count, kRowThreads, 0, stream>>>(logits, targets, rows, logp, lse, vocab);
    return cudaGetLastError();
}

cudaError_t logprob_grad_rows(const float* logits, const int32_t* targets, const int32_t* rows, const float* lse,
                              const float* dlogp, bf16* dz, int count, int vocab, cudaStream_t stream) {
    logprob_grad_kernel<<<count, 512, 0, stream>>>(logits, targets, rows, lse, dlogp, dz, vocab);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
