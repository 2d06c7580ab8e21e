// Launchers of the bf16 kernel families (internal to libcoevo_cuda; the public entries are in coevo.h and
// src/*.cpp). Pointers are device pointers already validated by the entry point; each launcher enqueues on
// `stream` and returns the launch status.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace coevo::kernels {

using bf16 = __nv_bfloat16;

// ---- embedding.cu ----
cudaError_t embedding_forward(const int32_t* ids, const bf16* table, bf16* y, int tokens, int dim, cudaStream_t stream);
// Sorts (id, position) pairs stably into the scratch arrays, then adds rows in position order per id.
cudaError_t embedding_backward(const int32_t* ids, const bf16* dy, float* dtable, int tokens, int dim,
                               int32_t* sorted_ids, int32_t* sorted_positions, int32_t* positions, void* sort_temp,
                               size_t sort_temp_bytes, cudaStream_t stream);
size_t embedding_sort_temp_bytes(int tokens);

// ---- rmsnorm.cu (bf16) ----
cudaError_t rmsnorm_forward_bf16(const bf16* x, const bf16* w, bf16* y, float* rstd, int rows, int dim, float eps,
                                 cudaStream_t stream);
// dw_partials: [chunks, dim] fp32 scratch, chunks = rmsnorm_dw_chunks(rows).
cudaError_t rmsnorm_backward_bf16(const bf16* x, const bf16* w, const float* rstd, const bf16* dy, bf16* dx,
                                  float* dw, float* dw_partials, int rows, int dim, bool accumulate_dx,
                                  cudaStream_t stream);
int rmsnorm_dw_chunks(int rows);

// ---- rope.cu ----
cudaError_t rope_apply(bf16* x, const int32_t* positions, const float* cos, const float* sin, int tokens, int heads,
                       int head_dim, bool inverse, cudaStream_t stream);

// ---- swiglu.cu ----
cudaError_t swiglu_forward(const bf16* gate, const bf16* up, bf16* h, long long n, cudaStream_t stream);
cudaError_t swiglu_backward(const bf16* gate, const bf16* up, const bf16* dh, bf16* dgate, bf16* dup, long long n,
                            cudaStream_t stream);

// ---- attention.cu ----
struct AttentionShape {
    const int32_t* cu_seqlens;  // device [sequences + 1]
    int tokens, sequences, max_seqlen, heads, kv_heads, head_dim, window;
    float scale;
};
cudaError_t attention_forward(const AttentionShape& shape, const bf16* q, const bf16* k, const bf16* v, bf16* o,
                              float* lse, cudaStream_t stream);
// delta: [tokens, heads] fp32 scratch. tensor_cores picks attention_tc.cu's kernels for dq, dk, dv.
cudaError_t attention_backward(const AttentionShape& shape, const bf16* q, const bf16* k, const bf16* v,
                               const bf16* o, const float* lse, const bf16* dout, float* delta, bf16* dq, bf16* dk,
                               bf16* dv, bool tensor_cores, cudaStream_t stream);

// ---- attention_tc.cu (the same family on tensor cores; delta already computed) ----
cudaError_t attention_forward_tensor_cores(const AttentionShape& shape, const bf16* q, const bf16* k, const bf16* v,
                                           bf16* o, float* lse, cudaStream_t stream);
cudaError_t attention_backward_tensor_cores(const AttentionShape& shape, const bf16* q, const bf16* k, const bf16* v,
                                            const bf16* dout, const float* lse, const float* delta, bf16* dq, bf16* dk,
                                            bf16* dv, cudaStream_t stream);

// ---- linear.cu ----
// y[r, :] = bias for every row (the GEMM then adds x W^T with beta = 1).
cudaError_t broadcast_rows(const bf16* bias, bf16* y, int rows, int cols, cudaStream_t stream);

// ---- token_logprobs.cu ----
cudaError_t gather_rows(const bf16* src, const int32_t* rows, bf16* dst, int count, int dim, cudaStream_t stream);
cudaError_t scatter_rows(const bf16* src, const int32_t* rows, bf16* dst, int count, int dim, cudaStream_t stream);
// Per chunk row i (token rows[i]): lse and log p of the target from fp32 logits [count, vocab].
cudaError_t logprob_rows(const float* logits, const int32_t* targets, const int32_t* rows, float* logp, float* lse,
                         int count, int vocab, cudaStream_t stream);
// dz[i, :] = dlogp[t] (onehot(target[t]) - exp(z - lse[t])) as bf16, t = rows[i].
cudaError_t logprob_grad_rows(const float* logits, const int32_t* targets, const int32_t* rows, const float* lse,
                              const float* dlogp, bf16* dz, int count, int vocab, cudaStream_t stream);

// ---- losses.cu ----
cudaError_t sft_loss(const float* logp, const uint8_t* mask, int tokens, long long batch_scored_tokens, double* loss,
                     float* grad, cudaStream_t stream);
struct DpoOptions {
    double beta, dpo_weight, nll_weight;
    int nll_token_mean;
    int batch_pairs;
    long long batch_chosen_tokens;
};
// sums, grads: [2 * pairs] fp64 scratch.
cudaError_t dpo_loss(const float* logp, const uint8_t* mask, const int32_t* cu_seqlens, const double* ref, int pairs,
                     const DpoOptions& options, double* result, float* grad, double* sums, double* grads,
                     cudaStream_t stream);

// ---- adamw.cu ----
struct AdamWScalars {
    float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, inverse_bias2_sqrt, epsilon;
};
cudaError_t adamw_step(float* param, const float* grad, float* m, float* v, bf16* param_bf16, long long n,
                       const AdamWScalars& s, cudaStream_t stream);

// ---- sampling.cu ----
size_t sampling_sort_temp_bytes(int rows, int vocab);
// keys/values: [rows * vocab] scratch (sorted logits and ids); offsets [rows + 1] scratch.
cudaError_t sample_tokens(const float* logits, const float* uniforms, int32_t* ids, int rows, int vocab,
                          float temperature, int top_k, float top_p, float* sorted_logits, int32_t* ids_in,
                          int32_t* sorted_ids, int32_t* offsets, void* sort_temp, size_t sort_temp_bytes,
                          cudaStream_t stream);

}  // namespace coevo::kernels
