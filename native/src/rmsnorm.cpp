// coevo_rmsnorm_forward_f32: argument checks, then dispatch to kernels/rmsnorm.cu.
#include <cmath>

#include "internal.h"
#include "rmsnorm.h"

using coevo::fail;

extern "C" COEVO_API coevo_status coevo_rmsnorm_forward_f32(coevo_context* context, const coevo_buffer* x,
                                                            const coevo_buffer* weight, coevo_buffer* y,
                                                            coevo_buffer* rstd, int rows, int dim, float eps) {
    static const char* const fn = "coevo_rmsnorm_forward_f32";
    if (context == nullptr) return fail(COEVO_INVALID_ARGUMENT, "%s: context is NULL", fn);
    if (rows < 1 || dim < 1) return fail(COEVO_INVALID_ARGUMENT, "%s: rows=%d and dim=%d must be >= 1", fn, rows, dim);
    if (!std::isfinite(eps) || eps < 0.0f)
        return fail(COEVO_INVALID_ARGUMENT, "%s: eps=%g must be finite and >= 0", fn, static_cast<double>(eps));

    const size_t matrix_bytes = static_cast<size_t>(rows) * static_cast<size_t>(dim) * sizeof(float);
    coevo_status s = coevo::check_buffer(context, x, matrix_bytes, fn, "x [rows, dim]");
    if (s == COEVO_OK) s = coevo::check_buffer(context, weight, static_cast<size_t>(dim) * sizeof(float), fn, "weight [dim]");
    if (s == COEVO_OK) s = coevo::check_buffer(context, y, matrix_bytes, fn, "y [rows, dim]");
    if (s == COEVO_OK) s = coevo::check_buffer(context, rstd, static_cast<size_t>(rows) * sizeof(float), fn, "rstd [rows]");
    if (s != COEVO_OK) return s;
    if (y == x || y == weight || y == rstd || rstd == x || rstd == weight)
        return fail(COEVO_INVALID_ARGUMENT, "%s: y and rstd must be distinct from each other and from x and weight", fn);

    s = coevo::activate(context, fn);
    if (s != COEVO_OK) return s;
    COEVO_CUDA_TRY(coevo::kernels::rmsnorm_forward_f32(
        static_cast<const float*>(x->data), static_cast<const float*>(weight->data), static_cast<float*>(y->data),
        static_cast<float*>(rstd->data), rows, dim, eps, context->stream));
    return COEVO_OK;
}
