// Host helpers shared by every entry point: argument checks (Args), the cuBLAS handle and the row-major GEMM,
// stream-ordered scratch memory.
#include <cstdio>

#include "internal.h"

namespace coevo {

Args::Args(const coevo_context* context, const char* function_name) : function(function_name), context_(context) {
    if (context == nullptr) status = fail(COEVO_INVALID_ARGUMENT, "%s: context is NULL", function);
}

Args& Args::positive(const char* name, long long value) { return at_least(name, value, 1); }

Args& Args::at_least(const char* name, long long value, long long minimum) {
    if (status == COEVO_OK && value < minimum)
        status = fail(COEVO_INVALID_ARGUMENT, "%s: %s=%lld must be >= %lld", function, name, value, minimum);
    return *this;
}

Args& Args::buffer(const coevo_buffer* b, size_t bytes, const char* name) {
    if (status == COEVO_OK) status = check_buffer(context_, b, bytes, function, name);
    return *this;
}

Args& Args::optional(const coevo_buffer* b, size_t bytes, const char* name) {
    return b == nullptr ? *this : buffer(b, bytes, name);
}

Args& Args::that(bool condition, const char* message) {
    if (status == COEVO_OK && !condition) status = fail(COEVO_INVALID_ARGUMENT, "%s: %s", function, message);
    return *this;
}

Args& Args::activate() {
    if (status == COEVO_OK) status = coevo::activate(context_, function);
    return *this;
}

coevo_status fail_blas(cublasStatus_t error, const char* what) {
    const char* name = "CUBLAS_STATUS_UNKNOWN";
    switch (error) {
        case CUBLAS_STATUS_NOT_INITIALIZED: name = "CUBLAS_STATUS_NOT_INITIALIZED"; break;
        case CUBLAS_STATUS_ALLOC_FAILED: name = "CUBLAS_STATUS_ALLOC_FAILED"; break;
        case CUBLAS_STATUS_INVALID_VALUE: name = "CUBLAS_STATUS_INVALID_VALUE"; break;
        case CUBLAS_STATUS_ARCH_MISMATCH: name = "CUBLAS_STATUS_ARCH_MISMATCH"; break;
        case CUBLAS_STATUS_MAPPING_ERROR: name = "CUBLAS_STATUS_MAPPING_ERROR"; break;
        case CUBLAS_STATUS_EXECUTION_FAILED: name = "CUBLAS_STATUS_EXECUTION_FAILED"; break;
        case CUBLAS_STATUS_INTERNAL_ERROR: name = "CUBLAS_STATUS_INTERNAL_ERROR"; break;
        case CUBLAS_STATUS_NOT_SUPPORTED: name = "CUBLAS_STATUS_NOT_SUPPORTED"; break;
        default: break;
    }
    return fail(error == CUBLAS_STATUS_ALLOC_FAILED ? COEVO_OUT_OF_MEMORY : COEVO_CUDA_ERROR, "%s: cuBLAS %s (%d)", what,
                name, static_cast<int>(error));
}

coevo_status blas_handle(coevo_context* context, cublasHandle_t* out, const char* function) {
    if (context->blas == nullptr) {
        cublasHandle_t handle = nullptr;
        cublasStatus_t e = cublasCreate(&handle);
        if (e != CUBLAS_STATUS_SUCCESS) return fail_blas(e, function);
        e = cublasSetStream(handle, context->stream);
        // Split-K partial sums stay fp32 even when C is bf16 (cuBLAS may otherwise reduce them in bf16): the fp32
        // accumulation DESIGN.md promises, at a small cost on a few shapes.
        if (e == CUBLAS_STATUS_SUCCESS)
            e = cublasSetMathMode(handle, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                                    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
        if (e != CUBLAS_STATUS_SUCCESS) {
            cublasDestroy(handle);
            return fail_blas(e, function);
        }
        context->blas = handle;
    }
    *out = context->blas;
    return COEVO_OK;
}

coevo_status gemm(coevo_context* context, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* a,
                  const void* b, float beta, void* c, Dtype c_type, const char* function) {
    if (m == 0 || n == 0) return COEVO_OK;
    cublasHandle_t handle = nullptr;
    COEVO_TRY(blas_handle(context, &handle, function));
    // Column-major view: C^T [n, m] = op(B)^T [n, k] x op(A)^T [k, m]. A row-major [r, c] matrix is a column-major
    // [c, r] one, so B needs no transpose when trans_b is false (its column-major view is already B^T).
    const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const int ld_b = trans_b ? k : n;
    const int ld_a = trans_a ? m : k;
    const cudaDataType_t ct = c_type == Dtype::bf16 ? CUDA_R_16BF : CUDA_R_32F;
    const cublasStatus_t e = cublasGemmEx(handle, op_b, op_a, n, m, k, &alpha, b, CUDA_R_16BF, ld_b, a, CUDA_R_16BF,
                                          ld_a, &beta, c, ct, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (e != CUBLAS_STATUS_SUCCESS) {
        char what[160];
        std::snprintf(what, sizeof what, "%s: cublasGemmEx(m=%d, n=%d, k=%d)", function, m, n, k);
        return fail_blas(e, what);
    }
    return COEVO_OK;
}

Scratch::~Scratch() {
    for (int i = 0; i < count_; i++) cudaFreeAsync(pointers_[i], context_->stream);
}

void* Scratch::get(size_t bytes, const char* function, coevo_status* status) {
    if (count_ == 8) {
        *status = fail(COEVO_INTERNAL_ERROR, "%s: more than 8 scratch allocations", function);
        return nullptr;
    }
    void* p = nullptr;
    const cudaError_t e = cudaMallocAsync(&p, bytes == 0 ? 1 : bytes, context_->stream);
    if (e != cudaSuccess) {
        char what[160];
        std::snprintf(what, sizeof what, "%s: scratch of %zu bytes (cudaMallocAsync)", function, bytes);
        *status = fail_cuda(e, what);
        return nullptr;
    }
    pointers_[count_++] = p;
    *status = COEVO_OK;
    return p;
}

}  // namespace coevo
