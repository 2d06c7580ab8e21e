// Entry points of the row-wise and elementwise families (embedding, RMSNorm bf16, RoPE, SwiGLU, AdamW): argument
// checks, then dispatch to kernels/<family>.cu.
#include <cmath>

#include "coevo_kernels.h"
#include "internal.h"

using coevo::Args;
using coevo::bytes_of;
using coevo::data;
using coevo::kBf16;
using coevo::kF32;
using coevo::kI32;
namespace k = coevo::kernels;

namespace {

}  // namespace

extern "C" {

COEVO_API coevo_status coevo_embedding_forward(coevo_context* context, const coevo_buffer* ids,
                                               const coevo_buffer* table, coevo_buffer* y, int tokens, int vocab,
                                               int dim) {
    Args a(context, "coevo_embedding_forward");
    a.positive("tokens", tokens).positive("vocab", vocab).positive("dim", dim);
    a.buffer(ids, bytes_of(tokens, kI32), "ids [tokens]")
        .buffer(table, bytes_of(static_cast<long long>(vocab) * dim, kBf16), "table [vocab, dim]")
        .buffer(y, bytes_of(static_cast<long long>(tokens) * dim, kBf16), "y [tokens, dim]");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::embedding_forward(data<int32_t>(ids), data<k::bf16>(table), data<k::bf16>(y), tokens, dim,
                                        context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_embedding_backward(coevo_context* context, const coevo_buffer* ids,
                                                const coevo_buffer* dy, coevo_buffer* dtable, int tokens, int vocab,
                                                int dim) {
    static const char* const fn = "coevo_embedding_backward";
    Args a(context, fn);
    a.positive("tokens", tokens).positive("vocab", vocab).positive("dim", dim);
    a.buffer(ids, bytes_of(tokens, kI32), "ids [tokens]")
        .buffer(dy, bytes_of(static_cast<long long>(tokens) * dim, kBf16), "dy [tokens, dim]")
        .buffer(dtable, bytes_of(static_cast<long long>(vocab) * dim, kF32), "dtable [vocab, dim]");
    if (!a.activate()) return a.status;
    coevo::Scratch scratch(context);
    coevo_status s = COEVO_OK;
    const size_t temp_bytes = k::embedding_sort_temp_bytes(tokens);
    auto* sorted_ids = static_cast<int32_t*>(scratch.get(bytes_of(tokens, kI32), fn, &s));
    auto* sorted_positions = s != COEVO_OK ? nullptr : static_cast<int32_t*>(scratch.get(bytes_of(tokens, kI32), fn, &s));
    auto* positions = s != COEVO_OK ? nullptr : static_cast<int32_t*>(scratch.get(bytes_of(tokens, kI32), fn, &s));
    void* temp = s != COEVO_OK ? nullptr : scratch.get(temp_bytes, fn, &s);
    if (s != COEVO_OK) return s;
    COEVO_CUDA_TRY(k::embedding_backward(data<int32_t>(ids), data<k::bf16>(dy), data<float>(dtable), tokens, dim,
                                         sorted_ids, sorted_positions, positions, temp, temp_bytes, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_rmsnorm_forward(coevo_context* context, const coevo_buffer* x, const coevo_buffer* weight,
                                             coevo_buffer* y, coevo_buffer* rstd, int rows, int dim, float eps) {
    Args a(context, "coevo_rmsnorm_forward");
    a.positive("rows", rows).positive("dim", dim).that(std::isfinite(eps) && eps >= 0.0f, "eps must be finite and >= 0");
    const size_t matrix = bytes_of(static_cast<long long>(rows) * dim, kBf16);
    a.buffer(x, matrix, "x [rows, dim]")
        .buffer(weight, bytes_of(dim, kBf16), "weight [dim]")
        .buffer(y, matrix, "y [rows, dim]")
        .buffer(rstd, bytes_of(rows, kF32), "rstd [rows]")
        .that(y != x && y != weight && rstd != x && rstd != y && rstd != weight,
              "y and rstd must be distinct from each other and from x and weight");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::rmsnorm_forward_bf16(data<k::bf16>(x), data<k::bf16>(weight), data<k::bf16>(y), data<float>(rstd),
                                           rows, dim, eps, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_rmsnorm_backward(coevo_context* context, const coevo_buffer* x,
                                              const coevo_buffer* weight, const coevo_buffer* rstd,
                                              const coevo_buffer* dy, coevo_buffer* dx, coevo_buffer* dweight,
                                              int rows, int dim, int accumulate_dx) {
    static const char* const fn = "coevo_rmsnorm_backward";
    Args a(context, fn);
    a.positive("rows", rows).positive("dim", dim);
    const size_t matrix = bytes_of(static_cast<long long>(rows) * dim, kBf16);
    a.buffer(x, matrix, "x [rows, dim]")
        .buffer(weight, bytes_of(dim, kBf16), "weight [dim]")
        .buffer(rstd, bytes_of(rows, kF32), "rstd [rows]")
        .buffer(dy, matrix, "dy [rows, dim]")
        .optional(dx, matrix, "dx [rows, dim]")
        .optional(dweight, bytes_of(dim, kF32), "dweight [dim]")
        .that(dx == nullptr || (dx != x && dx != dy && dx != weight), "dx must be distinct from x, dy and weight");
    if (!a.activate()) return a.status;
    coevo::Scratch scratch(context);
    float* partials = nullptr;
    if (dweight != nullptr) {
        coevo_status s = COEVO_OK;
        partials = static_cast<float*>(
            scratch.get(bytes_of(static_cast<long long>(k::rmsnorm_dw_chunks(rows)) * dim, kF32), fn, &s));
        if (s != COEVO_OK) return s;
    }
    COEVO_CUDA_TRY(k::rmsnorm_backward_bf16(data<k::bf16>(x), data<k::bf16>(weight), data<float>(rstd),
                                            data<k::bf16>(dy), data<k::bf16>(dx), data<float>(dweight), partials, rows,
                                            dim, accumulate_dx != 0, context->stream));
    return COEVO_OK;
}

static coevo_status rope(const char* fn, coevo_context* context, coevo_buffer* x, const coevo_buffer* positions,
                         const coevo_buffer* cos, const coevo_buffer* sin, int tokens, int heads, int head_dim,
                         int table_positions, bool inverse) {
    Args a(context, fn);
    a.positive("tokens", tokens).positive("heads", heads).positive("table_positions", table_positions);
    a.that(head_dim >= 2 && head_dim % 2 == 0, "head_dim must be even and >= 2");
    const size_t table = bytes_of(static_cast<long long>(table_positions) * (head_dim / 2), kF32);
    a.buffer(x, bytes_of(static_cast<long long>(tokens) * heads * head_dim, kBf16), "x [tokens, heads, head_dim]")
        .buffer(positions, bytes_of(tokens, kI32), "positions [tokens]")
        .buffer(cos, table, "cos [table_positions, head_dim / 2]")
        .buffer(sin, table, "sin [table_positions, head_dim / 2]");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::rope_apply(data<k::bf16>(x), data<int32_t>(positions), data<float>(cos), data<float>(sin), tokens,
                                 heads, head_dim, inverse, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_rope_forward(coevo_context* context, coevo_buffer* x, const coevo_buffer* positions,
                                          const coevo_buffer* cos, const coevo_buffer* sin, int tokens, int heads,
                                          int head_dim, int table_positions) {
    return rope("coevo_rope_forward", context, x, positions, cos, sin, tokens, heads, head_dim, table_positions, false);
}

COEVO_API coevo_status coevo_rope_backward(coevo_context* context, coevo_buffer* dx, const coevo_buffer* positions,
                                           const coevo_buffer* cos, const coevo_buffer* sin, int tokens, int heads,
                                           int head_dim, int table_positions) {
    return rope("coevo_rope_backward", context, dx, positions, cos, sin, tokens, heads, head_dim, table_positions, true);
}

// The checks both SwiGLU entries share: dimensions, gate and up [rows, width]; gives rows * width.
static long long swiglu_args(Args& a, const coevo_buffer* gate, const coevo_buffer* up, int rows, int width) {
    a.positive("rows", rows).positive("width", width);
    const long long n = static_cast<long long>(rows) * width;
    a.buffer(gate, bytes_of(n, kBf16), "gate [rows, width]").buffer(up, bytes_of(n, kBf16), "up [rows, width]");
    return n;
}

COEVO_API coevo_status coevo_swiglu_forward(coevo_context* context, const coevo_buffer* gate, const coevo_buffer* up,
                                            coevo_buffer* h, int rows, int width) {
    Args a(context, "coevo_swiglu_forward");
    const long long n = swiglu_args(a, gate, up, rows, width);
    a.buffer(h, bytes_of(n, kBf16), "h [rows, width]");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::swiglu_forward(data<k::bf16>(gate), data<k::bf16>(up), data<k::bf16>(h), n, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_swiglu_backward(coevo_context* context, const coevo_buffer* gate,
                                             const coevo_buffer* up, const coevo_buffer* dh, coevo_buffer* dgate,
                                             coevo_buffer* dup, int rows, int width) {
    Args a(context, "coevo_swiglu_backward");
    const long long n = swiglu_args(a, gate, up, rows, width);
    a.buffer(dh, bytes_of(n, kBf16), "dh [rows, width]")
        .buffer(dgate, bytes_of(n, kBf16), "dgate [rows, width]")
        .buffer(dup, bytes_of(n, kBf16), "dup [rows, width]")
        .that(dgate != dup, "dgate and dup must be distinct");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(k::swiglu_backward(data<k::bf16>(gate), data<k::bf16>(up), data<k::bf16>(dh), data<k::bf16>(dgate),
                                      data<k::bf16>(dup), n, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_adamw_step(coevo_context* context, coevo_buffer* param, const coevo_buffer* grad,
                                        coevo_buffer* m, coevo_buffer* v, coevo_buffer* param_bf16, int64_t n,
                                        float learning_rate, double beta1, double beta2, double epsilon,
                                        double weight_decay, int64_t step) {
    Args a(context, "coevo_adamw_step");
    a.positive("n", n).positive("step", step);
    a.that(std::isfinite(learning_rate) && learning_rate >= 0.0f, "learning_rate must be finite and >= 0")
        .that(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1)")
        .that(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1)")
        .that(std::isfinite(epsilon) && epsilon >= 0, "epsilon must be finite and >= 0")
        .that(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay must be finite and >= 0");
    a.buffer(param, bytes_of(n, kF32), "param [n]")
        .buffer(grad, bytes_of(n, kF32), "grad [n]")
        .buffer(m, bytes_of(n, kF32), "m [n]")
        .buffer(v, bytes_of(n, kF32), "v [n]")
        .optional(param_bf16, bytes_of(n, kBf16), "param_bf16 [n]")
        .that(param != grad && param != m && param != v && m != v && grad != m && grad != v,
              "param, grad, m and v must be distinct");
    if (!a.activate()) return a.status;
    // The twin's scalars (AdamW.Step): computed in double from the fp32 learning rate, rounded once to fp32.
    const double lr = learning_rate, t = static_cast<double>(step);
    const k::AdamWScalars s{static_cast<float>(1 - lr * weight_decay),
                            static_cast<float>(beta1),
                            static_cast<float>(1 - beta1),
                            static_cast<float>(beta2),
                            static_cast<float>(1 - beta2),
                            static_cast<float>(lr / (1 - std::pow(beta1, t))),
                            static_cast<float>(1 / std::sqrt(1 - std::pow(beta2, t))),
                            static_cast<float>(epsilon)};
    COEVO_CUDA_TRY(k::adamw_step(data<float>(param), data<float>(grad), data<float>(m), data<float>(v),
                                 data<k::bf16>(param_bf16), n, s, context->stream));
    return COEVO_OK;
}

}  // extern "C"
