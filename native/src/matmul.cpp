// Entry points of the GEMM-based families: attention (its scratch), linear + LoRA (cuBLAS), the chunked LM head with
// log-softmax (token log-probs), the losses and sampling. Argument checks, scratch, then kernels/<family>.cu.
#include <cmath>

#include "coevo_kernels.h"
#include "internal.h"

using coevo::Args;
using coevo::bytes_of;
using coevo::data;
using coevo::Dtype;
using coevo::gemm;
using coevo::kBf16;
using coevo::kF32;
using coevo::kF64;
using coevo::kI32;
using coevo::kU8;
namespace k = coevo::kernels;

namespace {

Args& attention_args(Args& a, const coevo_buffer* q, const coevo_buffer* k, const coevo_buffer* v,
                     const coevo_buffer* cu, int tokens, int sequences, int max_seqlen, int heads, int kv_heads,
                     int head_dim) {
    a.positive("tokens", tokens).positive("sequences", sequences).positive("max_seqlen", max_seqlen);
    a.positive("heads", heads).positive("kv_heads", kv_heads);
    a.that(heads % (kv_heads > 0 ? kv_heads : 1) == 0, "kv_heads must divide heads")
        .that(head_dim == 64 || head_dim == 128, "head_dim must be 64 or 128")
        .that(sequences <= tokens, "sequences must be <= tokens (every sequence holds a token)")
        .that(max_seqlen <= tokens, "max_seqlen must be <= tokens")
        .that(sequences <= 65535, "sequences must be <= 65535 (a grid dimension)");
    const long long qn = static_cast<long long>(tokens) * heads * head_dim;
    const long long kn = static_cast<long long>(tokens) * kv_heads * head_dim;
    a.buffer(q, bytes_of(qn, kBf16), "q [tokens, heads, head_dim]")
        .buffer(k, bytes_of(kn, kBf16), "k [tokens, kv_heads, head_dim]")
        .buffer(v, bytes_of(kn, kBf16), "v [tokens, kv_heads, head_dim]")
        .buffer(cu, bytes_of(sequences + 1LL, kI32), "cu_seqlens [sequences + 1]");
    return a;
}

k::AttentionShape attention_shape(const coevo_buffer* cu, int tokens, int sequences, int max_seqlen, int heads,
                                  int kv_heads, int head_dim, int window) {
    return k::AttentionShape{data<int32_t>(cu), tokens,   sequences, max_seqlen, heads, kv_heads,
                             head_dim,          window, 1.0f / std::sqrt(static_cast<float>(head_dim))};
}

// Scored rows per chunk: the caller's choice (at most all of them), else as many as fit 512 MiB of fp32 logits.
int chunk_size(int chunk_rows, int vocab, int scored) {
    if (chunk_rows > 0) return chunk_rows < scored ? chunk_rows : scored;
    const long long rows = (512LL << 20) / (static_cast<long long>(vocab) * 4);
    const long long clamped = rows < 1 ? 1 : rows;
    return static_cast<int>(clamped < scored ? clamped : scored);
}

// One chunk's logits: h [count, dim] = hidden[rows[i]], then logits [count, vocab] = h W^T in fp32.
coevo_status chunk_logits(coevo_context* context, const coevo_buffer* hidden, const coevo_buffer* weight,
                          const int32_t* rows, int count, int dim, int vocab, k::bf16* h, float* logits,
                          const char* fn) {
    COEVO_CUDA_TRY(k::gather_rows(data<k::bf16>(hidden), rows, h, count, dim, context->stream));
    return gemm(context, false, true, count, vocab, dim, 1.0f, h, weight->data, 0.0f, logits, Dtype::f32, fn);
}

}  // namespace

extern "C" {

COEVO_API coevo_status coevo_attention_forward(coevo_context* context, const coevo_buffer* q, const coevo_buffer* k,
                                               const coevo_buffer* v, const coevo_buffer* cu_seqlens,
                                               coevo_buffer* o, coevo_buffer* lse, int tokens, int sequences,
                                               int max_seqlen, int heads, int kv_heads, int head_dim, int window) {
    Args a(context, "coevo_attention_forward");
    attention_args(a, q, k, v, cu_seqlens, tokens, sequences, max_seqlen, heads, kv_heads, head_dim)
        .buffer(o, bytes_of(static_cast<long long>(tokens) * heads * head_dim, kBf16), "o [tokens, heads, head_dim]")
        .buffer(lse, bytes_of(static_cast<long long>(tokens) * heads, kF32), "lse [tokens, heads]")
        .that(o != q && o != k && o != v, "o must be distinct from q, k and v");
    if (!a.activate()) return a.status;
    const k::AttentionShape shape =
        attention_shape(cu_seqlens, tokens, sequences, max_seqlen, heads, kv_heads, head_dim, window);
    if (context->attention == COEVO_ATTENTION_TENSOR_CORES)
        COEVO_CUDA_TRY(k::attention_forward_tensor_cores(shape, data<k::bf16>(q), data<k::bf16>(k), data<k::bf16>(v),
                                                         data<k::bf16>(o), data<float>(lse), context->stream));
    else
        COEVO_CUDA_TRY(k::attention_forward(shape, data<k::bf16>(q), data<k::bf16>(k), data<k::bf16>(v),
                                            data<k::bf16>(o), data<float>(lse), context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_attention_backward(coevo_context* context, const coevo_buffer* q, const coevo_buffer* k,
                                                const coevo_buffer* v, const coevo_buffer* o, const coevo_buffer* lse,
                                                const coevo_buffer* dout, const coevo_buffer* cu_seqlens,
                                                coevo_buffer* dq, coevo_buffer* dk, coevo_buffer* dv, int tokens,
                                                int sequences, int max_seqlen, int heads, int kv_heads, int head_dim,
                                                int window) {
    static const char* const fn = "coevo_attention_backward";
    Args a(context, fn);
    const long long qn = static_cast<long long>(tokens) * heads * head_dim;
    const long long kn = static_cast<long long>(tokens) * kv_heads * head_dim;
    attention_args(a, q, k, v, cu_seqlens, tokens, sequences, max_seqlen, heads, kv_heads, head_dim)
        .buffer(o, bytes_of(qn, kBf16), "o [tokens, heads, head_dim]")
        .buffer(lse, bytes_of(static_cast<long long>(tokens) * heads, kF32), "lse [tokens, heads]")
        .buffer(dout, bytes_of(qn, kBf16), "dout [tokens, heads, head_dim]")
        .buffer(dq, bytes_of(qn, kBf16), "dq [tokens, heads, head_dim]")
        .buffer(dk, bytes_of(kn, kBf16), "dk [tokens, kv_heads, head_dim]")
        .buffer(dv, bytes_of(kn, kBf16), "dv [tokens, kv_heads, head_dim]")
        .that(dq != dk && dq != dv && dk != dv, "dq, dk and dv must be distinct");
    if (!a.activate()) return a.status;
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    auto* delta = static_cast<float*>(scratch.get(bytes_of(static_cast<long long>(tokens) * heads, kF32), fn, &s));
    if (s != COEVO_OK) return s;
    COEVO_CUDA_TRY(k::attention_backward(
        attention_shape(cu_seqlens, tokens, sequences, max_seqlen, heads, kv_heads, head_dim, window), data<k::bf16>(q),
        data<k::bf16>(k), data<k::bf16>(v), data<k::bf16>(o), data<float>(lse), data<k::bf16>(dout), delta,
        data<k::bf16>(dq), data<k::bf16>(dk), data<k::bf16>(dv), context->attention == COEVO_ATTENTION_TENSOR_CORES,
        context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_linear_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                            const coevo_buffer* bias, coevo_buffer* y, int rows, int in_features,
                                            int out_features) {
    static const char* const fn = "coevo_linear_forward";
    Args a(context, fn);
    a.positive("rows", rows).positive("in_features", in_features).positive("out_features", out_features);
    a.buffer(x, bytes_of(static_cast<long long>(rows) * in_features, kBf16), "x [rows, in]")
        .buffer(weight, bytes_of(static_cast<long long>(out_features) * in_features, kBf16), "weight [out, in]")
        .optional(bias, bytes_of(out_features, kBf16), "bias [out]")
        .buffer(y, bytes_of(static_cast<long long>(rows) * out_features, kBf16), "y [rows, out]")
        .that(y != x && y != weight && y != bias, "y must be distinct from x, weight and bias");
    if (!a.activate()) return a.status;
    float beta = 0.0f;
    if (bias != nullptr) {
        COEVO_CUDA_TRY(k::broadcast_rows(data<k::bf16>(bias), data<k::bf16>(y), rows, out_features, context->stream));
        beta = 1.0f;
    }
    return gemm(context, false, true, rows, out_features, in_features, 1.0f, x->data, weight->data, beta, y->data,
                Dtype::bf16, fn);
}

COEVO_API coevo_status coevo_linear_backward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                             const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* dweight,
                                             int rows, int in_features, int out_features, int accumulate_dx) {
    static const char* const fn = "coevo_linear_backward";
    Args a(context, fn);
    a.positive("rows", rows).positive("in_features", in_features).positive("out_features", out_features);
    a.buffer(x, bytes_of(static_cast<long long>(rows) * in_features, kBf16), "x [rows, in]")
        .buffer(weight, bytes_of(static_cast<long long>(out_features) * in_features, kBf16), "weight [out, in]")
        .buffer(dy, bytes_of(static_cast<long long>(rows) * out_features, kBf16), "dy [rows, out]")
        .optional(dx, bytes_of(static_cast<long long>(rows) * in_features, kBf16), "dx [rows, in]")
        .optional(dweight, bytes_of(static_cast<long long>(out_features) * in_features, kF32), "dweight [out, in]")
        .that(dx == nullptr || (dx != x && dx != dy), "dx must be distinct from x and dy");
    if (!a.activate()) return a.status;
    if (dx != nullptr)  // dx [rows, in] = dy [rows, out] W [out, in]
        COEVO_TRY(gemm(context, false, false, rows, in_features, out_features, 1.0f, dy->data, weight->data,
                       accumulate_dx ? 1.0f : 0.0f, dx->data, Dtype::bf16, fn));
    if (dweight != nullptr)  // dW [out, in] += dy^T [out, rows] x [rows, in]
        COEVO_TRY(gemm(context, true, false, out_features, in_features, rows, 1.0f, dy->data, x->data, 1.0f,
                       dweight->data, Dtype::f32, fn));
    return COEVO_OK;
}

static Args& lora_args(Args& a, const coevo_buffer* x, const coevo_buffer* la, const coevo_buffer* lb,
                       const coevo_buffer* xa, float scaling, int rows, int in_features, int out_features, int rank) {
    a.positive("rows", rows).positive("in_features", in_features).positive("out_features", out_features);
    a.positive("rank", rank).that(std::isfinite(scaling), "scaling must be finite");
    a.buffer(x, bytes_of(static_cast<long long>(rows) * in_features, kBf16), "x [rows, in]")
        .buffer(la, bytes_of(static_cast<long long>(rank) * in_features, kBf16), "a [rank, in]")
        .buffer(lb, bytes_of(static_cast<long long>(out_features) * rank, kBf16), "b [out, rank]")
        .buffer(xa, bytes_of(static_cast<long long>(rows) * rank, kBf16), "xa [rows, rank]");
    return a;
}

COEVO_API coevo_status coevo_lora_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* a_,
                                          const coevo_buffer* b_, float scaling, coevo_buffer* xa, coevo_buffer* y,
                                          int rows, int in_features, int out_features, int rank) {
    static const char* const fn = "coevo_lora_forward";
    Args a(context, fn);
    lora_args(a, x, a_, b_, xa, scaling, rows, in_features, out_features, rank)
        .buffer(y, bytes_of(static_cast<long long>(rows) * out_features, kBf16), "y [rows, out]")
        .that(xa != x && y != x && y != xa, "xa and y must be distinct from x and from each other");
    if (!a.activate()) return a.status;
    // xa [rows, r] = s * x [rows, in] A^T;  y [rows, out] += xa B^T
    COEVO_TRY(gemm(context, false, true, rows, rank, in_features, scaling, x->data, a_->data, 0.0f, xa->data,
                   Dtype::bf16, fn));
    return gemm(context, false, true, rows, out_features, rank, 1.0f, xa->data, b_->data, 1.0f, y->data, Dtype::bf16,
                fn);
}

COEVO_API coevo_status coevo_lora_backward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* a_,
                                           const coevo_buffer* b_, float scaling, const coevo_buffer* xa,
                                           const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* da,
                                           coevo_buffer* db, int rows, int in_features, int out_features, int rank) {
    static const char* const fn = "coevo_lora_backward";
    Args a(context, fn);
    lora_args(a, x, a_, b_, xa, scaling, rows, in_features, out_features, rank)
        .buffer(dy, bytes_of(static_cast<long long>(rows) * out_features, kBf16), "dy [rows, out]")
        .optional(dx, bytes_of(static_cast<long long>(rows) * in_features, kBf16), "dx [rows, in]")
        .optional(da, bytes_of(static_cast<long long>(rank) * in_features, kF32), "da [rank, in]")
        .optional(db, bytes_of(static_cast<long long>(out_features) * rank, kF32), "db [out, rank]");
    if (!a.activate()) return a.status;
    if (db != nullptr)  // dB [out, r] += dy^T [out, rows] xa [rows, r]
        COEVO_TRY(gemm(context, true, false, out_features, rank, rows, 1.0f, dy->data, xa->data, 1.0f, db->data,
                       Dtype::f32, fn));
    if (da == nullptr && dx == nullptr) return COEVO_OK;
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    void* g = scratch.get(bytes_of(static_cast<long long>(rows) * rank, kBf16), fn, &s);
    if (s != COEVO_OK) return s;
    // g [rows, r] = s * dy [rows, out] B [out, r]
    COEVO_TRY(gemm(context, false, false, rows, rank, out_features, scaling, dy->data, b_->data, 0.0f, g, Dtype::bf16, fn));
    if (da != nullptr)  // dA [r, in] += g^T [r, rows] x [rows, in]
        COEVO_TRY(gemm(context, true, false, rank, in_features, rows, 1.0f, g, x->data, 1.0f, da->data, Dtype::f32, fn));
    if (dx != nullptr)  // dx [rows, in] += g [rows, r] A [r, in]
        COEVO_TRY(gemm(context, false, false, rows, in_features, rank, 1.0f, g, a_->data, 1.0f, dx->data, Dtype::bf16, fn));
    return COEVO_OK;
}

static Args& logprob_args(Args& a, const coevo_buffer* hidden, const coevo_buffer* weight, const coevo_buffer* targets,
                          const coevo_buffer* rows, int tokens, int dim, int vocab, int scored, int chunk_rows) {
    a.positive("tokens", tokens).positive("dim", dim).positive("vocab", vocab);
    a.at_least("scored", scored, 0).at_least("chunk_rows", chunk_rows, 0).that(scored <= tokens, "scored must be <= tokens");
    a.buffer(hidden, bytes_of(static_cast<long long>(tokens) * dim, kBf16), "hidden [tokens, dim]")
        .buffer(weight, bytes_of(static_cast<long long>(vocab) * dim, kBf16), "weight [vocab, dim]")
        .buffer(targets, bytes_of(tokens, kI32), "targets [tokens]")
        .buffer(rows, bytes_of(scored, kI32), "rows [scored]");
    return a;
}

COEVO_API coevo_status coevo_token_logprobs_forward(coevo_context* context, const coevo_buffer* hidden,
                                                    const coevo_buffer* weight, const coevo_buffer* targets,
                                                    const coevo_buffer* rows, coevo_buffer* logp, coevo_buffer* lse,
                                                    int tokens, int dim, int vocab, int scored, int chunk_rows) {
    static const char* const fn = "coevo_token_logprobs_forward";
    Args a(context, fn);
    logprob_args(a, hidden, weight, targets, rows, tokens, dim, vocab, scored, chunk_rows)
        .buffer(logp, bytes_of(tokens, kF32), "logp [tokens]")
        .buffer(lse, bytes_of(tokens, kF32), "lse [tokens]")
        .that(logp != lse, "logp and lse must be distinct");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(cudaMemsetAsync(logp->data, 0, bytes_of(tokens, kF32), context->stream));
    COEVO_CUDA_TRY(cudaMemsetAsync(lse->data, 0, bytes_of(tokens, kF32), context->stream));
    if (scored == 0) return COEVO_OK;
    const int chunk = chunk_size(chunk_rows, vocab, scored);
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    auto* h = static_cast<k::bf16*>(scratch.get(bytes_of(static_cast<long long>(chunk) * dim, kBf16), fn, &s));
    auto* logits = s != COEVO_OK ? nullptr
                                 : static_cast<float*>(scratch.get(bytes_of(static_cast<long long>(chunk) * vocab, kF32), fn, &s));
    if (s != COEVO_OK) return s;
    const auto* row_index = data<int32_t>(rows);
    for (int first = 0; first < scored; first += chunk) {
        const int count = scored - first < chunk ? scored - first : chunk;
        COEVO_TRY(chunk_logits(context, hidden, weight, row_index + first, count, dim, vocab, h, logits, fn));
        COEVO_CUDA_TRY(k::logprob_rows(logits, data<int32_t>(targets), row_index + first, data<float>(logp),
                                       data<float>(lse), count, vocab, context->stream));
    }
    return COEVO_OK;
}

COEVO_API coevo_status coevo_token_logprobs_backward(coevo_context* context, const coevo_buffer* hidden,
                                                     const coevo_buffer* weight, const coevo_buffer* targets,
                                                     const coevo_buffer* rows, const coevo_buffer* lse,
                                                     const coevo_buffer* dlogp, coevo_buffer* dhidden, int tokens,
                                                     int dim, int vocab, int scored, int chunk_rows) {
    static const char* const fn = "coevo_token_logprobs_backward";
    Args a(context, fn);
    logprob_args(a, hidden, weight, targets, rows, tokens, dim, vocab, scored, chunk_rows)
        .buffer(lse, bytes_of(tokens, kF32), "lse [tokens]")
        .buffer(dlogp, bytes_of(tokens, kF32), "dlogp [tokens]")
        .buffer(dhidden, bytes_of(static_cast<long long>(tokens) * dim, kBf16), "dhidden [tokens, dim]")
        .that(dhidden != hidden, "dhidden must be distinct from hidden");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(cudaMemsetAsync(dhidden->data, 0, bytes_of(static_cast<long long>(tokens) * dim, kBf16), context->stream));
    if (scored == 0) return COEVO_OK;
    const int chunk = chunk_size(chunk_rows, vocab, scored);
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    auto* h = static_cast<k::bf16*>(scratch.get(bytes_of(static_cast<long long>(chunk) * dim, kBf16), fn, &s));
    auto* dh = s != COEVO_OK ? nullptr
                             : static_cast<k::bf16*>(scratch.get(bytes_of(static_cast<long long>(chunk) * dim, kBf16), fn, &s));
    auto* logits = s != COEVO_OK ? nullptr
                                 : static_cast<float*>(scratch.get(bytes_of(static_cast<long long>(chunk) * vocab, kF32), fn, &s));
    auto* dz = s != COEVO_OK ? nullptr
                             : static_cast<k::bf16*>(scratch.get(bytes_of(static_cast<long long>(chunk) * vocab, kBf16), fn, &s));
    if (s != COEVO_OK) return s;
    const auto* row_index = data<int32_t>(rows);
    for (int first = 0; first < scored; first += chunk) {
        const int count = scored - first < chunk ? scored - first : chunk;
        COEVO_TRY(chunk_logits(context, hidden, weight, row_index + first, count, dim, vocab, h, logits, fn));
        COEVO_CUDA_TRY(k::logprob_grad_rows(logits, data<int32_t>(targets), row_index + first, data<float>(lse),
                                            data<float>(dlogp), dz, count, vocab, context->stream));
        // dh [count, dim] = dz [count, vocab] W [vocab, dim]
        COEVO_TRY(gemm(context, false, false, count, dim, vocab, 1.0f, dz, weight->data, 0.0f, dh, Dtype::bf16, fn));
        COEVO_CUDA_TRY(k::scatter_rows(dh, row_index + first, data<k::bf16>(dhidden), count, dim, context->stream));
    }
    return COEVO_OK;
}

COEVO_API coevo_status coevo_sft_loss(coevo_context* context, const coevo_buffer* logp, const coevo_buffer* mask,
                                      coevo_buffer* loss, coevo_buffer* grad, int tokens, int64_t batch_scored_tokens) {
    Args a(context, "coevo_sft_loss");
    a.positive("tokens", tokens).positive("batch_scored_tokens", batch_scored_tokens);
    a.buffer(logp, bytes_of(tokens, kF32), "logp [tokens]")
        .buffer(mask, bytes_of(tokens, kU8), "mask [tokens]")
        .buffer(loss, kF64, "loss [1]")
        .buffer(grad, bytes_of(tokens, kF32), "grad [tokens]")
        .that(grad != logp, "grad must be distinct from logp");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::sft_loss(data<float>(logp), data<uint8_t>(mask), tokens, batch_scored_tokens, data<double>(loss),
                               data<float>(grad), context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_dpo_loss(coevo_context* context, const coevo_buffer* logp, const coevo_buffer* mask,
                                      const coevo_buffer* cu_seqlens, const coevo_buffer* reference,
                                      coevo_buffer* result, coevo_buffer* grad, int tokens, int pairs, double beta,
                                      double dpo_weight, double nll_weight, int nll_token_mean, int batch_pairs,
                                      int64_t batch_chosen_tokens) {
    static const char* const fn = "coevo_dpo_loss";
    Args a(context, fn);
    a.positive("tokens", tokens).positive("pairs", pairs).at_least("batch_pairs", batch_pairs, pairs);
    a.that(std::isfinite(beta) && beta > 0, "beta must be finite and > 0")
        .that(std::isfinite(dpo_weight) && dpo_weight >= 0, "dpo_weight must be finite and >= 0")
        .that(std::isfinite(nll_weight) && nll_weight >= 0, "nll_weight must be finite and >= 0")
        .that(!(nll_token_mean && nll_weight > 0) || batch_chosen_tokens >= 1,
              "a token-mean chosen NLL needs batch_chosen_tokens >= 1");
    a.buffer(logp, bytes_of(tokens, kF32), "logp [tokens]")
        .buffer(mask, bytes_of(tokens, kU8), "mask [tokens]")
        .buffer(cu_seqlens, bytes_of(2LL * pairs + 1, kI32), "cu_seqlens [2 pairs + 1]")
        .buffer(reference, bytes_of(2LL * pairs, kF64), "reference [2 pairs]")
        .buffer(result, 7 * kF64, "result [7]")
        .buffer(grad, bytes_of(tokens, kF32), "grad [tokens]");
    if (!a.activate()) return a.status;
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    auto* sums = static_cast<double*>(scratch.get(bytes_of(2LL * pairs, kF64), fn, &s));
    auto* grads = s != COEVO_OK ? nullptr : static_cast<double*>(scratch.get(bytes_of(2LL * pairs, kF64), fn, &s));
    if (s != COEVO_OK) return s;
    const k::DpoOptions options{beta, dpo_weight, nll_weight, nll_token_mean, batch_pairs, batch_chosen_tokens};
    COEVO_CUDA_TRY(k::dpo_loss(data<float>(logp), data<uint8_t>(mask), data<int32_t>(cu_seqlens),
                               data<double>(reference), pairs, options, data<double>(result), data<float>(grad), sums,
                               grads, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_sample_tokens(coevo_context* context, const coevo_buffer* logits,
                                           const coevo_buffer* uniforms, coevo_buffer* ids, int rows, int vocab,
                                           float temperature, int top_k, float top_p) {
    static const char* const fn = "coevo_sample_tokens";
    Args a(context, fn);
    a.positive("rows", rows).positive("vocab", vocab).at_least("top_k", top_k, 0);
    a.that(std::isfinite(temperature) && temperature >= 0.0f, "temperature must be finite and >= 0 (0 = greedy)")
        .that(top_p > 0.0f && top_p <= 1.0f, "top_p must be in (0, 1]")
        .that(static_cast<long long>(rows) * vocab < (1LL << 31), "rows * vocab must be < 2^31");
    a.buffer(logits, bytes_of(static_cast<long long>(rows) * vocab, kF32), "logits [rows, vocab]")
        .buffer(uniforms, bytes_of(rows, kF32), "uniforms [rows]")
        .buffer(ids, bytes_of(rows, kI32), "ids [rows]");
    if (!a.activate()) return a.status;
    coevo::Scratch scratch(context);
    float* sorted = nullptr;
    int32_t *ids_in = nullptr, *sorted_ids = nullptr, *offsets = nullptr;
    void* temp = nullptr;
    size_t temp_bytes = 0;
    if (temperature != 0.0f) {
        const long long n = static_cast<long long>(rows) * vocab;
        temp_bytes = k::sampling_sort_temp_bytes(rows, vocab);
        coevo_status s = COEVO_OK;
        sorted = static_cast<float*>(scratch.get(bytes_of(n, kF32), fn, &s));
        if (s == COEVO_OK) ids_in = static_cast<int32_t*>(scratch.get(bytes_of(n, kI32), fn, &s));
        if (s == COEVO_OK) sorted_ids = static_cast<int32_t*>(scratch.get(bytes_of(n, kI32), fn, &s));
        if (s == COEVO_OK) offsets = static_cast<int32_t*>(scratch.get(bytes_of(rows + 1LL, kI32), fn, &s));
        if (s == COEVO_OK) temp = scratch.get(temp_bytes, fn, &s);
        if (s != COEVO_OK) return s;
    }
    COEVO_CUDA_TRY(k::sample_tokens(data<float>(logits), data<float>(uniforms), data<int32_t>(ids), rows, vocab,
                                    temperature, top_k, top_p, sorted, ids_in, sorted_ids, offsets, temp, temp_bytes,
                                    context->stream));
    return COEVO_OK;
}

}  // extern "C"
