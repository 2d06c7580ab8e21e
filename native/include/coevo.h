/*
 * coevo.h - the whole C ABI of libcoevo_cuda (OnnxCoEvo's CUDA backend).
 *
 * Rules of this boundary (the C# side in src/Managed/OnnxCoEvo.Cuda/NativeMethods.cs mirrors every line):
 *   - Plain C only: opaque handles, fixed-size integers, float, size_t, const char*. No C++ types cross it.
 *   - Every fallible function returns coevo_status. On failure the thread-local message returned by
 *     coevo_last_error() says what went wrong; successful calls leave it untouched.
 *   - Out-parameters are written only on success (counts are set to 0 on failure).
 *   - Destroy/free functions accept NULL and never fail.
 *
 * Memory layout: every tensor is a dense, row-major array in a coevo_buffer, starting at byte 0. A matrix
 * [rows, dim] stores element (r, c) at element index r * dim + c. Vectors [n] are contiguous. Buffers start on a
 * 256-byte boundary (cudaMalloc), so vector loads are aligned whenever a row is a multiple of 16 bytes.
 * Element types, fixed per argument and named in each comment:
 *   bf16  bfloat16 bits (uint16: the upper half of an IEEE float; activations and frozen weights)
 *   f32   IEEE float (accumulators, saved statistics, log-probs, LoRA master weights and their grads, AdamW state)
 *   f64   IEEE double (loss results)   i32  int32_t   u8  uint8_t (masks: 0 or 1)
 * Numerics: bf16 storage, fp32 arithmetic and accumulation; a bf16 output is rounded once (to nearest even).
 * "(+=)" marks an output that is added to; every other output is overwritten. An optional buffer may be NULL.
 * Scratch memory a kernel needs comes from the device's stream-ordered pool (cudaMallocAsync) and is freed on the
 * stream; coevo_context_memory reports its high-water mark.
 *
 * Threads and streams: a coevo_context owns one CUDA stream on one device. Kernels are enqueued on that stream
 * and return before they finish; coevo_buffer_download and coevo_context_synchronize wait for them. A context
 * may be used from several threads, but not concurrently.
 */
#ifndef COEVO_H
#define COEVO_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(COEVO_BUILDING_LIBRARY)
#    define COEVO_API __declspec(dllexport)
#  else
#    define COEVO_API __declspec(dllimport)
#  endif
#else
#  define COEVO_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Library version (informational) and ABI version (bumped on any incompatible change of this header;
 * callers compare coevo_abi_version() with the value they were written against). */
#define COEVO_VERSION_MAJOR 0
#define COEVO_VERSION_MINOR 2
#define COEVO_VERSION_PATCH 0
#define COEVO_ABI_VERSION 2

typedef enum coevo_status {
    COEVO_OK = 0,
    COEVO_INVALID_ARGUMENT = 1, /* a NULL handle, a size that does not fit its buffer, a bad dimension */
    COEVO_CUDA_ERROR = 2,       /* the CUDA runtime reported an error (kernel launch, copy, stream) */
    COEVO_OUT_OF_MEMORY = 3,    /* device allocation failed */
    COEVO_NOT_AVAILABLE = 4,    /* no CUDA driver, no device, or a device index out of range */
    COEVO_INTERNAL_ERROR = 5    /* a bug in this library */
} coevo_status;

typedef struct coevo_context coevo_context; /* a device index + a CUDA stream */
typedef struct coevo_buffer coevo_buffer;   /* device memory of a fixed byte size on one device */

/* ---- library ---- */

/* The message of the most recent failure on the calling thread ("" if none). Valid until the next failing call
 * on this thread. Never NULL. */
COEVO_API const char* coevo_last_error(void);

/* COEVO_ABI_VERSION of the compiled library. */
COEVO_API int coevo_abi_version(void);

/* COEVO_VERSION_MAJOR * 10000 + MINOR * 100 + PATCH of the compiled library. */
COEVO_API int coevo_version(void);

/* Static description of the build, e.g. "coevo 0.1.0; CUDA runtime 11080; archs 80,90". Never NULL. */
COEVO_API const char* coevo_build_info(void);

/* Number of CUDA devices visible to this process. On failure (no driver, no device) *count = 0 and the status is
 * COEVO_NOT_AVAILABLE or COEVO_CUDA_ERROR with the CUDA runtime's explanation in coevo_last_error(). */
COEVO_API coevo_status coevo_device_count(int* count);

/* Name of device `device` as a NUL-terminated string truncated to `capacity` bytes. */
COEVO_API coevo_status coevo_device_name(int device, char* name, size_t capacity);

/* ---- context ---- */

/* Creates a context on device `device` (0-based) with its own non-blocking stream. */
COEVO_API coevo_status coevo_context_create(int device, coevo_context** out_context);

/* Waits for all queued work of the context, then frees it. NULL is ignored. */
COEVO_API void coevo_context_destroy(coevo_context* context);

/* Waits until all work queued on the context's stream has finished; reports asynchronous kernel errors. */
COEVO_API coevo_status coevo_context_synchronize(coevo_context* context);

/* The device index the context was created on. */
COEVO_API coevo_status coevo_context_device(const coevo_context* context, int* out_device);

/* ---- buffers ---- */

/* Allocates `bytes` of device memory on the context's device (contents undefined). bytes == 0 gives an empty
 * buffer that every size check treats as holding nothing. */
COEVO_API coevo_status coevo_buffer_alloc(coevo_context* context, size_t bytes, coevo_buffer** out_buffer);

/* Frees the buffer (synchronises its device first, as cudaFree does). NULL is ignored. */
COEVO_API void coevo_buffer_free(coevo_buffer* buffer);

/* Size in bytes given at allocation (0 for NULL). */
COEVO_API size_t coevo_buffer_size(const coevo_buffer* buffer);

/* Copies `bytes` from host memory `src` to the buffer at byte offset `offset`, ordered on the context's stream.
 * Returns when `src` may be reused. */
COEVO_API coevo_status coevo_buffer_upload(coevo_context* context, coevo_buffer* buffer, size_t offset,
                                           const void* src, size_t bytes);

/* Copies `bytes` from the buffer at byte offset `offset` to host memory `dst` after all work queued on the
 * context's stream has finished. Returns when `dst` holds the data. */
COEVO_API coevo_status coevo_buffer_download(coevo_context* context, const coevo_buffer* buffer, size_t offset,
                                             void* dst, size_t bytes);

/* ---- kernels ---- */

/* RMSNorm forward, fp32 (twin: src/Managed/OnnxCoEvo.Training/Cpu/RmsNorm.cs):
 *   rstd[r]   = 1 / sqrt(mean_c(x[r, c]^2) + eps)
 *   y[r, c]   = (x[r, c] * rstd[r]) * weight[c]
 * Shapes: x, y [rows, dim] row-major; weight [dim]; rstd [rows] (kept for the backward pass).
 * Requires rows >= 1, dim >= 1, eps finite and >= 0, each buffer at least as large as its shape, and y and rstd
 * distinct from every other argument (no in-place). Enqueued on the context's stream; returns before it ends. */
COEVO_API coevo_status coevo_rmsnorm_forward_f32(coevo_context* context, const coevo_buffer* x,
                                                 const coevo_buffer* weight, coevo_buffer* y, coevo_buffer* rstd,
                                                 int rows, int dim, float eps);

/* ---- more buffer operations, timing, memory ---- */

/* Copies `bytes` from src at src_offset to dst at dst_offset on the context's stream (device to device; queued). */
COEVO_API coevo_status coevo_buffer_copy(coevo_context* context, coevo_buffer* dst, size_t dst_offset,
                                         const coevo_buffer* src, size_t src_offset, size_t bytes);

/* Sets every byte of the buffer to 0 on the context's stream (queued). */
COEVO_API coevo_status coevo_buffer_zero(coevo_context* context, coevo_buffer* buffer);

/* Which attention kernels the context runs (both compute the same thing; parity and benchmarks check each):
 * COEVO_ATTENTION_FMA (the default) tiles in fp32 FMA; COEVO_ATTENTION_TENSOR_CORES runs the products on tensor
 * cores (WMMA, bf16 operands incl. the probabilities, fp32 accumulation; sm_80 and later). */
typedef enum coevo_attention_kernel {
    COEVO_ATTENTION_FMA = 0,
    COEVO_ATTENTION_TENSOR_CORES = 1
} coevo_attention_kernel;
COEVO_API coevo_status coevo_context_set_attention_kernel(coevo_context* context, coevo_attention_kernel kernel);

/* Records a start event on the context's stream; coevo_context_timer_stop records a stop event, waits for it and
 * gives the GPU time between the two in milliseconds (what the benchmarks report). */
COEVO_API coevo_status coevo_context_timer_start(coevo_context* context);
COEVO_API coevo_status coevo_context_timer_stop(coevo_context* context, float* out_milliseconds);

/* After the queued work finishes: free and total device memory (cudaMemGetInfo) and the high-water mark of the
 * scratch pool since the last reset (bytes); reset_peak != 0 then resets that mark. */
COEVO_API coevo_status coevo_context_memory(coevo_context* context, int reset_peak, size_t* out_free,
                                            size_t* out_total, size_t* out_scratch_peak);

/* ---- kernels (bf16 storage, fp32 accumulation). Each names its CPU twin in src/Managed/OnnxCoEvo.Training. ---- */

/* Embedding (twin Cpu/Embedding.cs). ids i32 [tokens] in [0, vocab); table bf16 [vocab, dim]; y bf16 [tokens, dim].
 *   forward:  y[t, :] = table[ids[t], :]
 *   backward: dtable f32 [vocab, dim] (+=): dtable[ids[t], :] += dy[t, :] in position order (deterministic).
 * Ids outside [0, vocab) are not checked on the device (they are device data): the caller validates them. */
COEVO_API coevo_status coevo_embedding_forward(coevo_context* context, const coevo_buffer* ids,
                                               const coevo_buffer* table, coevo_buffer* y, int tokens, int vocab,
                                               int dim);
COEVO_API coevo_status coevo_embedding_backward(coevo_context* context, const coevo_buffer* ids,
                                                const coevo_buffer* dy, coevo_buffer* dtable, int tokens, int vocab,
                                                int dim);

/* RMSNorm, bf16 (twin Cpu/RmsNorm.cs). x, y, dy, dx bf16 [rows, dim]; weight bf16 [dim]; rstd f32 [rows].
 *   forward:  rstd[r] = 1 / sqrt(mean_c x[r, c]^2 + eps);  y = x * rstd * weight
 *   backward: g = dy * w;  dx = rstd g - x (rstd^3 / dim) sum_c g x   (dx written, or (+=) when accumulate_dx != 0;
 *             dx may be NULL);  dweight f32 [dim] (+=, optional) += sum over rows of dy x rstd. */
COEVO_API coevo_status coevo_rmsnorm_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                             coevo_buffer* y, coevo_buffer* rstd, int rows, int dim, float eps);
COEVO_API coevo_status coevo_rmsnorm_backward(coevo_context* context, const coevo_buffer* x,
                                              const coevo_buffer* weight, const coevo_buffer* rstd,
                                              const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* dweight,
                                              int rows, int dim, int accumulate_dx);

/* RoPE, in place (twin Cpu/Rope.cs, HF rotate-half). x bf16 [tokens, heads, head_dim] (q or k); positions i32
 * [tokens] in [0, table_positions); cos, sin f32 [table_positions, head_dim / 2] (RopeTable's tables).
 *   forward: x[i], x[i + half] <- x[i] c - x[i + half] s, x[i + half] c + x[i] s;  backward: the same with -s. */
COEVO_API coevo_status coevo_rope_forward(coevo_context* context, coevo_buffer* x, const coevo_buffer* positions,
                                          const coevo_buffer* cos, const coevo_buffer* sin, int tokens, int heads,
                                          int head_dim, int table_positions);
COEVO_API coevo_status coevo_rope_backward(coevo_context* context, coevo_buffer* dx, const coevo_buffer* positions,
                                           const coevo_buffer* cos, const coevo_buffer* sin, int tokens, int heads,
                                           int head_dim, int table_positions);

/* SwiGLU (twin Cpu/SwiGlu.cs). gate, up, h, dh, dgate, dup bf16 [rows, width].
 *   forward: h = silu(gate) * up;  backward: dgate = dh up sig (1 + gate (1 - sig)), dup = dh silu(gate). */
COEVO_API coevo_status coevo_swiglu_forward(coevo_context* context, const coevo_buffer* gate, const coevo_buffer* up,
                                            coevo_buffer* h, int rows, int width);
COEVO_API coevo_status coevo_swiglu_backward(coevo_context* context, const coevo_buffer* gate,
                                             const coevo_buffer* up, const coevo_buffer* dh, coevo_buffer* dgate,
                                             coevo_buffer* dup, int rows, int width);

/* Causal grouped-query attention over packed variable-length sequences (twin Cpu/CausalAttention.cs; FlashAttention
 * varlen layout). q, o, do, dq bf16 [tokens, heads, head_dim]; k, v, dk, dv bf16 [tokens, kv_heads, head_dim];
 * cu_seqlens i32 [sequences + 1] (0 = cu[0] < cu[1] < ... < cu[sequences] = tokens, device data the caller
 * validates); max_seqlen >= every sequence's length; lse f32 [tokens, heads] (saved by forward for backward).
 * heads % kv_heads == 0; head_dim 64 or 128; window <= 0 for full causal attention, else Mistral's sliding window.
 * Never materialises a [seq, seq] matrix: tiles with an online softmax; backward recomputes P from lse. */
COEVO_API coevo_status coevo_attention_forward(coevo_context* context, const coevo_buffer* q, const coevo_buffer* k,
                                               const coevo_buffer* v, const coevo_buffer* cu_seqlens,
                                               coevo_buffer* o, coevo_buffer* lse, int tokens, int sequences,
                                               int max_seqlen, int heads, int kv_heads, int head_dim, int window);
COEVO_API coevo_status coevo_attention_backward(coevo_context* context, const coevo_buffer* q, const coevo_buffer* k,
                                                const coevo_buffer* v, const coevo_buffer* o, const coevo_buffer* lse,
                                                const coevo_buffer* dout, const coevo_buffer* cu_seqlens,
                                                coevo_buffer* dq, coevo_buffer* dk, coevo_buffer* dv, int tokens,
                                                int sequences, int max_seqlen, int heads, int kv_heads, int head_dim,
                                                int window);

/* Linear (twin Cpu/Linear.cs; cuBLAS, bf16 in, fp32 accumulation). x, dx bf16 [rows, in]; weight bf16 [out, in];
 * bias bf16 [out] (optional); y, dy bf16 [rows, out].
 *   forward:  y = x W^T + b
 *   backward: dx = dy W (optional; written, or (+=) when accumulate_dx != 0); dweight f32 [out, in] (+=, optional)
 *             += dy^T x. */
COEVO_API coevo_status coevo_linear_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                            const coevo_buffer* bias, coevo_buffer* y, int rows, int in_features,
                                            int out_features);
COEVO_API coevo_status coevo_linear_backward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                             const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* dweight,
                                             int rows, int in_features, int out_features, int accumulate_dx);

/* LoRA on a linear layer (twin Cpu/Linear.cs LoraForward / LoraBackward). a bf16 [rank, in] and b bf16 [out, rank]
 * (bf16 copies of the f32 masters that AdamW writes); xa bf16 [rows, rank].
 *   forward:  xa = scaling (x A^T);  y (+=) xa B^T   (added into the base GEMM's output)
 *   backward: db f32 [out, rank] (+=, optional) += dy^T xa;  g = scaling (dy B);  da f32 [rank, in] (+=, optional)
 *             += g^T x;  dx bf16 [rows, in] (+=, optional) += g A. */
COEVO_API coevo_status coevo_lora_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* a,
                                          const coevo_buffer* b, float scaling, coevo_buffer* xa, coevo_buffer* y,
                                          int rows, int in_features, int out_features, int rank);
COEVO_API coevo_status coevo_lora_backward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* a,
                                           const coevo_buffer* b, float scaling, const coevo_buffer* xa,
                                           const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* da,
                                           coevo_buffer* db, int rows, int in_features, int out_features, int rank);

/* LM head + log-softmax + gather of the target's log-prob, chunked (twin Cpu/TokenLogProbs.cs). hidden, dhidden bf16
 * [tokens, dim]; weight bf16 [vocab, dim]; targets i32 [tokens]; rows i32 [scored] (the scored token indices, each in
 * [0, tokens), targets of scored rows in [0, vocab): device data the caller validates); logp, lse, dlogp f32
 * [tokens]. chunk_rows scored rows per GEMM (0: as many as fit 512 MiB of fp32 logits). Never a [tokens, vocab]
 * tensor: scratch is [chunk_rows, vocab] f32 (+ the same in bf16 for backward).
 *   forward:  logp[t] = log softmax(hidden[t] W^T)[targets[t]], lse[t] = its logsumexp, for scored t; 0 elsewhere
 *   backward: dhidden[t] = dlogp[t] (onehot(target) - softmax) W for scored t; 0 elsewhere (written). */
COEVO_API coevo_status coevo_token_logprobs_forward(coevo_context* context, const coevo_buffer* hidden,
                                                    const coevo_buffer* weight, const coevo_buffer* targets,
                                                    const coevo_buffer* rows, coevo_buffer* logp, coevo_buffer* lse,
                                                    int tokens, int dim, int vocab, int scored, int chunk_rows);
COEVO_API coevo_status coevo_token_logprobs_backward(coevo_context* context, const coevo_buffer* hidden,
                                                     const coevo_buffer* weight, const coevo_buffer* targets,
                                                     const coevo_buffer* rows, const coevo_buffer* lse,
                                                     const coevo_buffer* dlogp, coevo_buffer* dhidden, int tokens,
                                                     int dim, int vocab, int scored, int chunk_rows);

/* SFT loss (twin Losses/SftLoss.cs): logp f32 [tokens]; mask u8 [tokens]; loss f64 [1] = -(1/N) sum_t m_t logp_t with
 * N = batch_scored_tokens >= 1 (the optimizer batch's scored tokens); grad f32 [tokens] = -m_t / N. */
COEVO_API coevo_status coevo_sft_loss(coevo_context* context, const coevo_buffer* logp, const coevo_buffer* mask,
                                      coevo_buffer* loss, coevo_buffer* grad, int tokens, int64_t batch_scored_tokens);

/* DPO (sigmoid) + optional chosen NLL (twin Losses/DpoLoss.cs PreferenceLoss.Compute with SequenceLogProbs).
 * logp f32 [tokens]; mask u8 [tokens]; cu_seqlens i32 [2 pairs + 1] with pair i = sequences 2i (chosen), 2i + 1
 * (rejected); reference f64 [2 pairs] (reference sums in the same order); result f64 [7] = total, dpo, chosen nll,
 * chosen reward, rejected reward, margin, accuracy (this micro-batch's share of the batch means); grad f32 [tokens]
 * = dL/dlogp_t (0 where unscored). nll_token_mean != 0 divides the NLL by batch_chosen_tokens, else by batch_pairs. */
COEVO_API coevo_status coevo_dpo_loss(coevo_context* context, const coevo_buffer* logp, const coevo_buffer* mask,
                                      const coevo_buffer* cu_seqlens, const coevo_buffer* reference,
                                      coevo_buffer* result, coevo_buffer* grad, int tokens, int pairs, double beta,
                                      double dpo_weight, double nll_weight, int nll_token_mean, int batch_pairs,
                                      int64_t batch_chosen_tokens);

/* AdamW step t >= 1 (twin Optim/AdamW.cs): param, grad, m, v f32 [n]; param_bf16 bf16 [n] (optional: the copy the
 * forward reads). Decoupled weight decay; scalars computed in double, as torch and the twin do. */
COEVO_API coevo_status coevo_adamw_step(coevo_context* context, coevo_buffer* param, const coevo_buffer* grad,
                                        coevo_buffer* m, coevo_buffer* v, coevo_buffer* param_bf16, int64_t n,
                                        float learning_rate, double beta1, double beta2, double epsilon,
                                        double weight_decay, int64_t step);

/* Token sampling (twin src/Managed/OnnxCoEvo.Onnx/Generation/TokenSampler.cs): logits f32 [rows, vocab]; uniforms
 * f32 [rows] in [0, 1) (the caller's draws); ids i32 [rows] out. temperature 0 = greedy (argmax, lowest id on ties);
 * else softmax(logits / temperature) limited to the top_k (0 = all) most likely, then to the shortest prefix reaching
 * top_p (in (0, 1]), renormalised, and the first token whose cumulative probability exceeds the uniform. */
COEVO_API coevo_status coevo_sample_tokens(coevo_context* context, const coevo_buffer* logits,
                                           const coevo_buffer* uniforms, coevo_buffer* ids, int rows, int vocab,
                                           float temperature, int top_k, float top_p);

#ifdef __cplusplus
}
#endif

#endif /* COEVO_H */
