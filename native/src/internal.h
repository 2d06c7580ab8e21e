// Shared internals of libcoevo_cuda's host code: handle layouts, the error plumbing behind coevo_last_error, the
// argument checker every entry point uses, and the row-major GEMM helper over cuBLAS.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "coevo.h"

struct coevo_context {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;       // created on first use (a GEMM), bound to `stream`; NULL until then
    cudaEvent_t timer_start;   // created on first coevo_context_timer_start
    cudaEvent_t timer_stop;
    coevo_attention_kernel attention;  // which attention kernels run (coevo_context_set_attention_kernel)
};

struct coevo_buffer {
    int device;
    size_t bytes;
    void* data;  // NULL when bytes == 0
};

namespace coevo {

// Records a printf-style message as the calling thread's last error and returns `status`.
coevo_status fail(coevo_status status, const char* format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// Maps a CUDA runtime error to a status (allocation -> OUT_OF_MEMORY, no driver/device -> NOT_AVAILABLE,
// else CUDA_ERROR) and records "<what>: <cudaErrorName>: <cuda message>".
coevo_status fail_cuda(cudaError_t error, const char* what);

// Records a cuBLAS failure ("<what>: <status name>") as COEVO_CUDA_ERROR (allocation failures as OUT_OF_MEMORY).
coevo_status fail_blas(cublasStatus_t error, const char* what);

// Makes the context's device current on the calling thread.
coevo_status activate(const coevo_context* context, const char* function);

// Checks that `buffer` is non-NULL, lives on the context's device and holds at least `needed` bytes.
coevo_status check_buffer(const coevo_context* context, const coevo_buffer* buffer, size_t needed,
                          const char* function, const char* name);

// Checks that [offset, offset + bytes) lies inside the buffer (no overflow).
coevo_status check_range(const coevo_buffer* buffer, size_t offset, size_t bytes, const char* function);

// The context's cuBLAS handle (created and bound to the context's stream on first use).
coevo_status blas_handle(coevo_context* context, cublasHandle_t* out, const char* function);

// Validates an entry point's arguments in order and keeps the first failure:
//   Args a(context, "coevo_x"); a.positive("rows", rows).buffer(x, bytes, "x [rows, dim]"); if (!a) return a.status;
// A NULL context is reported first. After the checks, `a.activate()` makes the device current.
class Args {
public:
    Args(const coevo_context* context, const char* function);
    Args& positive(const char* name, long long value);
    Args& at_least(const char* name, long long value, long long minimum);
    Args& buffer(const coevo_buffer* b, size_t bytes, const char* name);
    Args& optional(const coevo_buffer* b, size_t bytes, const char* name);  // NULL allowed
    Args& that(bool condition, const char* message);                     // message: what must hold
    Args& activate();
    explicit operator bool() const { return status == COEVO_OK; }
    coevo_status status = COEVO_OK;
    const char* const function;

private:
    const coevo_context* context_;
};

// Bytes of n elements of the given size, as size_t (n >= 0 is checked by Args::positive first).
inline size_t bytes_of(long long n, size_t element) { return static_cast<size_t>(n) * element; }
constexpr size_t kBf16 = 2, kF32 = 4, kF64 = 8, kI32 = 4, kU8 = 1;

// The buffer's device pointer as T* (NULL for a NULL buffer: the ABI's optional arguments).
template <typename T>
T* data(const coevo_buffer* b) {
    return b == nullptr ? nullptr : static_cast<T*>(b->data);
}

// Element types cuBLAS sees.
enum class Dtype { bf16, f32 };

// Row-major GEMM on the context's stream, fp32 accumulation (CUBLAS_COMPUTE_32F):
//   C[M, N] = alpha * op(A) op(B) + beta * C,  op(A) [M, K], op(B) [K, N]
// A is stored row-major as [M, K] (trans_a = false) or [K, M] (trans_a = true); B as [K, N] or [N, K]. A and B are
// bf16; C is bf16 or f32. The row-major product is cuBLAS's column-major C^T = op(B)^T op(A)^T.
coevo_status gemm(coevo_context* context, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const void* a, const void* b, float beta, void* c, Dtype c_type, const char* function);

// Stream-ordered scratch (cudaMallocAsync from the device's default pool): freed on the same stream when the
// owner goes out of scope, so kernels queued before the free still see it.
class Scratch {
public:
    Scratch(coevo_context* context) : context_(context) {}
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    // Allocates `bytes` (contents undefined); records a failure and returns NULL on error.
    void* get(size_t bytes, const char* function, coevo_status* status);

private:
    coevo_context* context_;
    void* pointers_[8] = {};
    int count_ = 0;
};

}  // namespace coevo

// Runs a CUDA runtime call; on error records it (naming the call) and returns from the enclosing function.
#define COEVO_CUDA_TRY(call)                                                              \
    do {                                                                                  \
        const cudaError_t coevo_err_ = (call);                                            \
        if (coevo_err_ != cudaSuccess) return ::coevo::fail_cuda(coevo_err_, #call);      \
    } while (0)

// Returns from the enclosing function when `expr` (a coevo_status) is not COEVO_OK.
#define COEVO_TRY(expr)                                  \
    do {                                                 \
        const coevo_status coevo_s_ = (expr);            \
        if (coevo_s_ != COEVO_OK) return coevo_s_;       \
    } while (0)
